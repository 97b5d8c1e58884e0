//! `$metadata`: the CSDL document the server serves, kept in step with the model. Every enum
//! the engine knows has the same members in the same order (the sentinel where the engine puts
//! it); every session kind has its entity type with exactly the collections the server serves;
//! every member a served session or artifact has is a property of its type.

mod common;

use common::{ROOT, Server};
use restore_delta::{
    ArtifactCollection, ArtifactStatus, DestinationType, RestoreJobType, SessionKind, SessionStatus,
};

/// The text between `<{tag} Name="{name}"` and the tag's end.
fn block<'a>(xml: &'a str, tag: &str, name: &str) -> &'a str {
    let start = xml
        .find(&format!("<{tag} Name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {tag} {name}"));
    let end = xml[start..]
        .find(&format!("</{tag}>"))
        .unwrap_or_else(|| panic!("{tag} {name} not closed"));
    &xml[start..start + end]
}

/// The `Name`s of the `<{tag}` elements in `text`, in order.
fn names(text: &str, tag: &str) -> Vec<String> {
    text.split(&format!("<{tag} Name=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// Every property and navigation property of an entity type, its base types' included.
fn properties(xml: &str, ty: &str) -> Vec<String> {
    let b = block(xml, "EntityType", ty);
    let mut out = names(b, "Property");
    out.extend(names(b, "NavigationProperty"));
    if let Some(base) = b
        .split("BaseType=\"graph.")
        .nth(1)
        .and_then(|r| r.split('"').next())
    {
        out.extend(properties(xml, base));
    }
    out
}

#[test]
fn metadata_is_served_and_in_step_with_the_model() {
    let server = Server::start(&["--in-memory", "--token", "t"]);
    // Served under both versions, with no token, as Graph does.
    let answer = server.call("GET", "/v1.0/$metadata", None);
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/xml")
    );
    assert_eq!(
        server.call("GET", "/beta/$metadata", None).text,
        answer.text
    );
    let xml = answer.text;

    for (name, members) in [
        ("restoreSessionStatus", SessionStatus::MEMBERS),
        ("restoreJobType", RestoreJobType::MEMBERS),
        ("destinationType", DestinationType::MEMBERS),
        ("artifactRestoreStatus", ArtifactStatus::MEMBERS),
    ] {
        let listed = names(block(&xml, "EnumType", name), "Member");
        assert_eq!(listed, members, "{name}");
        // What comes after the sentinel is what the engine answers only to clients that ask
        // (rule O7).
        let sentinel = listed
            .iter()
            .position(|m| m == "unknownFutureValue")
            .unwrap();
        for (i, m) in listed.iter().enumerate() {
            let late = match name {
                "restoreSessionStatus" => SessionStatus::parse(m).is_after_sentinel(),
                "restoreJobType" => RestoreJobType::parse(m).is_after_sentinel(),
                "destinationType" => DestinationType::parse(m).is_after_sentinel(),
                _ => ArtifactStatus::parse(m).is_after_sentinel(),
            };
            assert_eq!(late, i > sentinel, "{name}.{m}");
        }
    }

    for kind in SessionKind::ALL {
        let ty = kind.odata_type().trim_start_matches("#microsoft.graph.");
        let mut served: Vec<&str> = ArtifactCollection::ALL
            .into_iter()
            .filter(|c| c.kind() == kind)
            .map(ArtifactCollection::name)
            .collect();
        served.sort_unstable();
        let navs = names(block(&xml, "EntityType", ty), "NavigationProperty");
        assert_eq!(navs, served, "{ty}");
        let set = restore_delta_server::graph::set_of_kind(kind);
        assert!(
            names(
                block(&xml, "EntityType", "backupRestoreRoot"),
                "NavigationProperty"
            )
            .iter()
            .any(|n| n == set),
            "{set}"
        );
    }

    // Members as served: a session (with its identity) and a drive artifact.
    let auth = [("Authorization", "Bearer t")];
    let made = server.call_with(
        "POST",
        &format!("{ROOT}/oneDriveForBusinessRestoreSessions"),
        Some("{}"),
        &auth,
    );
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let path = format!("{ROOT}/oneDriveForBusinessRestoreSessions/{id}");
    let session = server.call_with("GET", &path, None, &auth).json();
    let session_props = properties(&xml, "oneDriveForBusinessRestoreSession");
    for member in session.as_object().unwrap().keys() {
        if !member.starts_with('@') {
            assert!(session_props.contains(member), "session member {member}");
        }
    }
    let body = common::drive_additions("rp", 1);
    assert_eq!(
        server.call_with("PATCH", &path, Some(&body), &auth).status,
        200
    );
    let listed = server
        .call_with("GET", &format!("{path}/driveRestoreArtifacts"), None, &auth)
        .json();
    let artifact_props = properties(&xml, "driveRestoreArtifact");
    for member in listed["value"][0].as_object().unwrap().keys() {
        if !member.starts_with('@') {
            assert!(artifact_props.contains(member), "artifact member {member}");
        }
    }
}
