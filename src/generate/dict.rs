//! A libFuzzer dictionary of the body's vocabulary.

use std::fmt::Write as _;

use crate::{
    ArtifactCollection, ArtifactStatus, DestinationType, ErrorCode, RestoreJobType, SessionKind,
    SessionStatus,
};

/// Member names of bodies and states besides the collections.
const MEMBERS: [&str; 16] = [
    "id",
    "status",
    "restoreJobType",
    "restorePoint",
    "destinationType",
    "searchResponseId",
    "browseSessionId",
    "itemKey",
    "reason",
    "createdDateTime",
    "lastModifiedDateTime",
    "lastModifiedBy",
    "restoreSessionArtifactCount",
    "total",
    "completed",
    "error",
];

/// Annotation names (instance annotations and OData control information).
const ANNOTATIONS: [&str; 7] = [
    "@odata.type",
    "@odata.id",
    "@removed",
    "@odata.removed",
    "@contentId",
    "@odata.context",
    "@Core.DataModificationException",
];

/// Bits of JSON and of `Prefer` values that mutations rarely build byte by byte.
const SYNTAX: [&str; 12] = [
    "{}",
    "[]",
    "null",
    "true",
    "false",
    "\":",
    "\\u0000",
    "\\ud800",
    "1e400",
    "restorePoints/",
    "https://graph.microsoft.com/v1.0/",
    "\u{feff}",
];

/// The enum values of the rules: the reasons of a removal marker and every known value of the
/// session status, the job type, the destination type and the artifact status.
fn enum_values() -> Vec<String> {
    let mut values: Vec<String> = vec!["deleted".into(), "changed".into()];
    let statuses = [
        SessionStatus::Draft,
        SessionStatus::Activating,
        SessionStatus::Active,
        SessionStatus::CompletedWithError,
        SessionStatus::Completed,
        SessionStatus::UnknownFutureValue,
        SessionStatus::Failed,
    ];
    values.extend(statuses.iter().map(|v| v.as_str().to_owned()));
    let jobs = [
        RestoreJobType::Standard,
        RestoreJobType::Bulk,
        RestoreJobType::Granular,
    ];
    values.extend(jobs.iter().map(|v| v.as_str().to_owned()));
    let destinations = [DestinationType::New, DestinationType::InPlace];
    values.extend(destinations.iter().map(|v| v.as_str().to_owned()));
    let artifacts = [
        ArtifactStatus::Added,
        ArtifactStatus::Scheduling,
        ArtifactStatus::Scheduled,
        ArtifactStatus::InProgress,
        ArtifactStatus::Succeeded,
        ArtifactStatus::Failed,
    ];
    values.extend(artifacts.iter().map(|v| v.as_str().to_owned()));
    let mut seen = Vec::new();
    values.retain(|v| {
        let fresh = !seen.contains(v);
        seen.push(v.clone());
        fresh
    });
    values
}

const ERROR_CODES: [ErrorCode; 11] = [
    ErrorCode::RequestEntityTooLarge,
    ErrorCode::InvalidPatchRequest,
    ErrorCode::RestoreSessionActionNotAllowed,
    ErrorCode::InvalidArtifactRequest,
    ErrorCode::RestoreArtifactsLimitBreached,
    ErrorCode::Invalid,
    ErrorCode::InvalidRestorePoint,
    ErrorCode::InvalidPathType,
    ErrorCode::DuplicateArtifactInList,
    ErrorCode::DifferentRestoreDestinationType,
    ErrorCode::InternalServerError,
];

/// A libFuzzer dictionary (`-dict=FILE`; AFL reads the same format) of the vocabulary of a
/// restore-session PATCH: the member names (each collection, its `@delta` name, the bulk
/// addition requests, the members of items and states), the annotation names, the enum values,
/// the session and artifact types, and the error codes, each as a quoted JSON string (`"@removed"`
/// with its quotes), then a few bits of JSON syntax. One entry a line, `name="value"` with `\"`,
/// `\\` and `\xNN` escapes, under a `#` comment per group. The text is the same on every call.
///
/// ```
/// let dict = restore_delta::generate::dictionary();
/// assert!(dict.contains(r#"="\"driveRestoreArtifacts@delta\"""#));
/// assert!(dict.contains(r#"="\"DuplicateArtifactInList\"""#));
/// ```
pub fn dictionary() -> String {
    let mut collections: Vec<String> = Vec::new();
    for c in ArtifactCollection::ALL {
        collections.push(c.name().to_owned());
        collections.push(c.delta_name().to_owned());
        collections.push(c.item_type().to_owned());
    }
    for kind in SessionKind::ALL {
        collections.push(kind.bulk_addition_requests().to_owned());
        collections.push(kind.odata_type().to_owned());
    }
    let own = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let codes: Vec<String> = ERROR_CODES.iter().map(|c| c.as_str().to_owned()).collect();
    let groups: [(&str, &str, Vec<String>, bool); 6] = [
        ("collections and types", "c", collections, true),
        ("member names", "m", own(&MEMBERS), true),
        ("annotation names", "a", own(&ANNOTATIONS), true),
        ("enum values", "e", enum_values(), true),
        ("error codes", "err", codes, true),
        ("JSON and Prefer syntax", "s", own(&SYNTAX), false),
    ];
    let mut out = String::from("# restore-delta: the vocabulary of a restore-session PATCH body\n");
    for (title, prefix, tokens, quoted) in groups {
        let _ = writeln!(out, "# {title}");
        for (i, token) in tokens.iter().enumerate() {
            let token = if quoted {
                format!("\"{token}\"")
            } else {
                token.clone()
            };
            let _ = writeln!(out, "{prefix}{i}=\"{}\"", escape(&token));
        }
    }
    out
}

/// A dictionary value: `"` and `\` escaped, bytes outside printable ASCII as `\xNN`.
fn escape(token: &str) -> String {
    let mut s = String::with_capacity(token.len());
    for b in token.bytes() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02X}");
            }
        }
    }
    s
}
