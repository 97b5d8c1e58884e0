//! Reading sessions (rule L9): a session without its collections, and its artifacts in pages.

use crate::engine::options::Options;
use crate::engine::render::session_members;
use crate::model::kinds::ArtifactCollection;
use crate::model::session::Session;

/// Rule L9: the session as `GET …/restoreSessions/{id}` answers it (and as create and activate
/// answer): its top-level members in state order without the artifact collections, `status`
/// and `restoreJobType` written as rule O7 says
/// ([`Options::include_unknown_enum_members`]). The server adds `@odata.context`.
///
/// ```
/// use restore_delta::lifecycle::render_session;
/// use restore_delta::{Options, Session};
/// let s = Session::from_json(br#"{"id":"s1","restoreJobType":"granular",
///     "granularDriveRestoreArtifacts":[{"id":"k1"}]}"#).unwrap();
/// assert_eq!(render_session(&s, &Options::default()), r#"{"id":"s1","restoreJobType":"unknownFutureValue"}"#);
/// ```
pub fn render_session(session: &Session, options: &Options) -> String {
    let mut out = String::with_capacity(512);
    out.push('{');
    session_members(&mut out, session, None, options);
    if out.ends_with(',') {
        out.pop();
    }
    out.push('}');
    out
}

/// Rule L9: the artifacts `[skip, skip + top)` of `collection` (a collection of another kind
/// than the session's has none), in order, each as stored, as a JSON array; and whether more
/// follow (the server then writes `@odata.nextLink`). Costs O(top) when the collection holds no
/// removed slot (the usual case, and always after a compaction or a lifecycle stage), else
/// O(skip + top).
///
/// ```
/// use restore_delta::lifecycle::render_artifacts;
/// use restore_delta::{ArtifactCollection, Session};
/// let s = Session::from_json(br#"{"id":"s1","driveRestoreArtifacts":[{"id":"a"},{"id":"b"},{"id":"c"}]}"#).unwrap();
/// let c = ArtifactCollection::DriveRestoreArtifacts;
/// assert_eq!(render_artifacts(&s, c, 0, 2), (r#"[{"id":"a"},{"id":"b"}]"#.to_owned(), true));
/// assert_eq!(render_artifacts(&s, c, 2, 2), (r#"[{"id":"c"}]"#.to_owned(), false));
/// ```
pub fn render_artifacts(
    session: &Session,
    collection: ArtifactCollection,
    skip: usize,
    top: usize,
) -> (String, bool) {
    let c = session.collection(collection.family());
    let mut out = String::from("[");
    if c.which() != collection {
        out.push(']');
        return (out, false);
    }
    for (i, a) in c.iter_from(skip).take(top).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(a.json_text());
    }
    out.push(']');
    let more = skip.saturating_add(top) < c.len();
    (out, more)
}
