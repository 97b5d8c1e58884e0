//! What the settings tolerate (rule C2): ignore entries by kind or rule, and the profiles'
//! clauses (messages, extra schema properties holding their default, the docs' habits).

use serde_json::Value;

use super::attribution::RuleMap;
use super::diff::token;
use super::types::{Difference, DifferenceKind, Expected, Ignore, Profile, Settings, Tolerated};
use crate::model::kinds::{ArtifactCollection, Shape};
use crate::model::time::Timestamp;
use crate::rule::RuleId;

/// Splits the differences into those that stand and those the settings tolerate.
pub(super) fn judge(
    all: Vec<Difference>,
    expected: &Expected,
    request: &[u8],
    settings: &Settings,
    rules: &RuleMap,
) -> (Vec<Difference>, Vec<Tolerated>) {
    // The request's items, read again only when a docs-profile `@contentId` needs them.
    let wanted =
        settings.profile == Profile::Docs && all.iter().any(|d| d.pointer.ends_with("/@contentId"));
    let items: Option<Vec<Value>> = wanted
        .then(|| serde_json::from_slice::<Value>(request).ok())
        .flatten()
        .and_then(|v| {
            let d = rules.delta.as_ref()?;
            v.get(d.as_str()).and_then(Value::as_array).cloned()
        });
    let mut stand = Vec::new();
    let mut tolerated = Vec::new();
    for d in all {
        match tolerance(&d, expected, items.as_deref(), settings, rules) {
            Some(reason) => tolerated.push(Tolerated {
                difference: d,
                reason,
            }),
            None => stand.push(d),
        }
    }
    (stand, tolerated)
}

/// Why a difference is tolerated, if it is.
fn tolerance(
    d: &Difference,
    expected: &Expected,
    items: Option<&[Value]>,
    settings: &Settings,
    rules: &RuleMap,
) -> Option<String> {
    for ignore in &settings.ignore {
        let hit = match ignore {
            Ignore::Kind(k) => *k == d.kind,
            Ignore::Rule(r) => d.rule == Some(*r),
        };
        if hit {
            return Some(format!("ignored: {ignore}"));
        }
    }
    if settings.profile == Profile::Exact {
        return None;
    }
    if d.kind == DifferenceKind::Message {
        return Some(format!(
            "{}: messages are not compared",
            settings.profile.as_str()
        ));
    }
    if d.kind == DifferenceKind::Extra
        && let Some((collection, name)) = artifact_member(&d.pointer, expected, rules)
        && schema_default(collection, name, d.observed.as_ref())
    {
        return Some(format!(
            "{}: `{name}` is a property of the artifact type holding its default",
            settings.profile.as_str()
        ));
    }
    if settings.profile == Profile::Docs
        && d.kind == DifferenceKind::Extra
        && d.pointer.ends_with("/@contentId")
        && let (Some(items), Some(d_name)) = (items, &rules.delta)
    {
        let base = format!("/body/{}/", token(d_name));
        let index = d
            .pointer
            .strip_prefix(&base)
            .and_then(|t| t.split('/').next())
            .and_then(|i| i.parse::<usize>().ok());
        let carried = index
            .and_then(|j| rules.items.get(j).copied().flatten())
            .and_then(|i| items.get(i))
            .is_some_and(|item| item.get("@contentId").is_some());
        if !carried {
            return Some("docs: an @contentId the request did not carry".into());
        }
    }
    None
}

/// For an extra member of a returned artifact (an added entry of the body, or an artifact of
/// the state after), its collection and name.
fn artifact_member<'p>(
    pointer: &'p str,
    expected: &Expected,
    rules: &RuleMap,
) -> Option<(ArtifactCollection, &'p str)> {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let (root, coll, index, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let index: usize = index.parse().ok()?;
    match root {
        "body" => {
            let d = rules.delta.as_deref()?;
            if coll != token(d) {
                return None;
            }
            let added = matches!(
                rules.entries.get(index).copied().flatten(),
                Some(RuleId::A7 | RuleId::G4)
            );
            let c = ArtifactCollection::from_delta_name(d)?;
            (added && expected.status == 200).then_some((c, name))
        }
        "state" => ArtifactCollection::from_name(coll).map(|c| (c, name)),
        _ => None,
    }
}

/// Whether `name` is a schema property of the collection's artifact type and `value` is `null`
/// or its type's default (`""`, `0`, `0001-01-01T00:00:00Z`).
fn schema_default(collection: ArtifactCollection, name: &str, value: Option<&Value>) -> bool {
    const STRING: &[&str] = &[
        "directoryObjectId",
        "siteId",
        "restoredSiteId",
        "restoredSiteName",
        "restoredSiteWebUrl",
        "restoredFolderId",
        "restoredFolderName",
        "restoredItemKey",
        "restoredItemPath",
        "restoredItemWebUrl",
        "webUrl",
    ];
    const TIME: &[&str] = &[
        "completionDateTime",
        "startDateTime",
        "restorePointDateTime",
    ];
    const INT: &[&str] = &["restoredItemCount", "artifactCount"];
    let allowed: &[&str] = match collection.shape() {
        Shape::GranularItem => match collection {
            ArtifactCollection::GranularDriveRestoreArtifacts => &[
                "completionDateTime",
                "restoredItemKey",
                "restoredItemPath",
                "restoredItemWebUrl",
                "restorePointDateTime",
                "startDateTime",
                "webUrl",
                "directoryObjectId",
            ],
            _ => &[
                "completionDateTime",
                "restoredItemKey",
                "restoredItemPath",
                "restoredItemWebUrl",
                "restorePointDateTime",
                "startDateTime",
                "webUrl",
                "siteId",
            ],
        },
        _ => match collection {
            ArtifactCollection::DriveRestoreArtifacts
            | ArtifactCollection::SiteRestoreArtifacts => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredSiteId",
                "restoredSiteName",
                "restoredSiteWebUrl",
            ],
            ArtifactCollection::MailboxRestoreArtifacts => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredFolderId",
                "restoredFolderName",
                "restoredItemCount",
            ],
            _ => &[
                "completionDateTime",
                "startDateTime",
                "error",
                "restoredFolderId",
                "restoredFolderName",
                "restoredItemCount",
                "artifactCount",
            ],
        },
    };
    if !allowed.contains(&name) {
        return false;
    }
    match value {
        Some(Value::Null) => true,
        Some(Value::String(s)) if STRING.contains(&name) => s.is_empty(),
        Some(Value::String(s)) if TIME.contains(&name) => {
            Timestamp::parse_rfc3339(s).is_ok_and(|t| t.unix_seconds() == -62_135_596_800)
        }
        Some(Value::Number(n)) if INT.contains(&name) => n.as_f64() == Some(0.0),
        _ => false,
    }
}
