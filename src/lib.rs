//! The reference semantics of Microsoft Graph's restore-session update: the PATCH of
//! `…/{oneDriveForBusiness|sharePoint|exchange}RestoreSessions/{id}` whose body is an OData delta
//! payload (`{"driveRestoreArtifacts@delta": [{…addition…}, {"@removed": {"reason": "changed"},
//! "id": "…"}]}`), and the rest of a restore session's life.
//!
//! Given a session state and a request body, [`apply`] returns the new state, the HTTP response
//! (200 with one entry per item, 204, or a whole-request error) and one [`ItemOutcome`] per
//! item, each naming the rule of the repository's `docs/SEMANTICS.md` that decided it.
//!
//! # Sans-IO and deterministic
//!
//! The crate does no IO and reads nothing from its environment: no network, no clock, no
//! randomness. The caller passes the time and an id source in a [`Context`], so the same inputs
//! give the same bytes out. Output never depends on a hash map's order or on the order of a
//! JSON object's members.
//!
//! ```
//! use restore_delta::{apply, ArtifactCollection, Context, ItemOutcome, Options, RuleId, SeededIds, Session, Timestamp};
//!
//! let state = Session::from_json(br##"{
//!     "@odata.type": "#microsoft.graph.oneDriveForBusinessRestoreSession",
//!     "id": "1b014d8c-71fe-4d00-8ab2-31850bc5b32c", "status": "draft",
//!     "driveRestoreArtifacts": [
//!         {"id": "a1", "restorePoint": {"id": "rp-1"}, "destinationType": "new", "status": "added"}
//!     ]}"##).expect("a valid state");   // a bad state is the embedder's error: StateError
//!
//! let body = br#"{"driveRestoreArtifacts@delta": [
//!     {"restorePoint": {"id": "rp-2"}, "destinationType": "new"},
//!     {"@removed": {"reason": "changed"}, "id": "a1"},
//!     {"@removed": {"reason": "changed"}, "id": "no-such-id"}
//! ]}"#;
//!
//! let now = Timestamp::parse_rfc3339("2026-11-28T12:00:00Z").unwrap();
//! let mut ctx = Context::new(now, SeededIds::new(7));   // time and ids come in
//! let applied = apply(state, body, &Options::default(), &mut ctx);
//!
//! assert_eq!(applied.answer.response.status, 200);
//! assert!(matches!(applied.answer.outcomes[0], ItemOutcome::Added { .. }));
//! assert_eq!(applied.answer.outcomes[1], ItemOutcome::Removed { id: "a1".into(), existed: true });
//! assert_eq!(applied.answer.outcomes[2].rule(), RuleId::X3);   // every outcome names its rule
//! assert!(matches!(&applied.answer.outcomes[2], ItemOutcome::Failed(f) if f.status == 409));
//! assert_eq!(applied.state.artifact_count(ArtifactCollection::DriveRestoreArtifacts), 1);
//! let body_text = applied.answer.response.body.as_ref().unwrap().get();   // deterministic bytes
//! assert!(body_text.contains(r#""failedOperation":"remove""#));
//! ```
//!
//! # Cost follows the request
//!
//! [`apply`] takes the session by value and never copies it; items are decided against
//! indexes of the collection (by artifact id, by restore point, by destination type), never by
//! scanning it, and committed only once every item is decided, so atomic mode needs no
//! rollback. Members and enum values the crate does not model survive a read-then-write byte
//! for byte.
//!
//! # For a server
//!
//! [`apply`] is also two steps with the same answers: [`Request::parse`] runs the checks that
//! need no session (E1 size, E2 JSON), and [`apply_request`] does the rest, so a server can
//! refuse a body before it takes a session's lock ([`RequestError::response`] is the answer to
//! send) and apply one parsed request to several sessions. A server that keeps sessions in a
//! map or behind a lock applies in place: [`apply_in_place`] and [`apply_request_in_place`]
//! answer exactly as [`apply`], return an [`Answer`], change the session only when the request
//! commits and leave it untouched when it is refused. [`Response::preference_applied`] is the
//! `Preference-Applied` header to send (rule O8). The types a server shares between threads
//! ([`Session`], [`Options`], [`Request`], [`Answer`], the errors, …) are `Send + Sync`,
//! asserted at compile time.
//!
//! The rest of a session's life is [`lifecycle`] (rules L1–L9, same purity): `create` takes the
//! create body Microsoft's SDKs send, `activate` starts a draft (at most 25 busy sessions),
//! `catch_up` moves it on the caller's clock (`activating` → `active` → `completed` or
//! `completedWithError`, path-independently) and `step` by hand; `render_session` and
//! `render_artifacts` answer the reads, and [`lifecycle::query`] their OData query options
//! (rules Q1–Q9: `$filter`, `$select`, `$expand`, `$orderby`, `$top`, `$skip`, `$count`, its own
//! `$skiptoken`), with allocation bounded by the page, not by the session.
//!
//! ```
//! use restore_delta::lifecycle::{self, Schedule, Transitions};
//! use restore_delta::{Context, Options, SeededIds, SessionKind, SessionStatus, Timestamp};
//!
//! let t0 = Timestamp::parse_rfc3339("2026-11-30T08:00:00Z").unwrap();
//! let mut ctx = Context::new(t0, SeededIds::new(7));
//! let body = br#"{"mailboxRestoreArtifacts": [{"restorePoint": {"id": "rp-1"}, "destinationType": "new"}]}"#;
//! let mut session = lifecycle::create(SessionKind::Exchange, body, &Options::default(), &mut ctx)
//!     .expect("201");
//! let schedule = Schedule::new(Transitions::Timed { to_active_secs: 5, to_completed_secs: 10 })
//!     .with_failed_per_mille(100)
//!     .with_seed(1);
//! let mut progress = lifecycle::activate(&mut session, 0, &schedule, t0).expect("200");
//! assert_eq!(session.status(), &SessionStatus::Activating);
//! let later = Timestamp::parse_rfc3339("2026-11-30T08:00:15Z").unwrap();
//! lifecycle::catch_up(&mut session, &mut progress, later);
//! assert!(progress.is_done());
//! ```
//!
//! # Options
//!
//! | [`Options`] | default | what it does | rule |
//! |---|---|---|---|
//! | `atomic` | off (continue on error) | any failure: nothing applied, an error response listing every failure | O1 |
//! | `return_minimal` | off | 204 with no body when every item succeeds | O5 |
//! | `max_items` | 50 ([`Options::DEFAULT_MAX_ITEMS`]) | more items → 400 `RestoreArtifactsLimitBreached` | E7 |
//! | `max_bytes` | 1 MiB | a larger body → 413, checked before parsing | E1 |
//! | `max_depth` | 64 | deeper nesting → 400 `InvalidPatchRequest` | E2 |
//! | `missing_removal` | [`MissingRemoval::Fail`] (409) | `Succeed`: removing an absent id is a no-op success | X3 |
//! | `include_unknown_enum_members` | off | enum values after `unknownFutureValue` written as stored, not as `unknownFutureValue` | O7 |
//! | `service_roots` | Graph's two ([`GRAPH_SERVICE_ROOTS`]) | [`Options::with_service_root`] adds a root an absolute `restorePoint@odata.id` may start with | A2 |
//!
//! [`Options::with_prefer`] reads an HTTP `Prefer` value (`return=minimal|representation`,
//! `continue-on-error`, `odata.continue-on-error`, `include-unknown-enum-members`; the first of
//! a repeated preference counts, and what was asked is kept for `Preference-Applied`). The
//! caller's identity for `createdBy` and `lastModifiedBy` goes in [`Context::with_actor`].
//!
//! # The tools built on it
//!
//! - [`check`]: judges another implementation's answer against this one, binding the choices a
//!   server is free to make (new ids, time, identity, `innerError`).
//! - `generate` (feature `gen`): a deterministic generator of cases with the reference's
//!   answer, for fuzzing and differential campaigns; with feature `arbitrary`, structure-aware
//!   `Arbitrary` inputs.
//! - [`lifecycle`]: create, activate, the stages, reads and their query options.
//!
//! The command line (`restore-delta`: apply, check, conform, gen, differential) and a local
//! server (`restore-delta-server`) are in the repository's `cli/` and `server/`.
//!
//! # Dependencies, features and stability
//!
//! `serde` and `serde_json` are public dependencies: [`Session`], [`Artifact`] and [`Body`]
//! implement `Serialize`; `serde_json::value::RawValue` is what [`Session::member`] gives and
//! [`Context::actor`](Context) holds; `serde_json::Value` is what [`Context::with_actor`]
//! takes and several accessors give. serde_json's `raw_value` feature is required (this crate
//! turns it on, with `float_roundtrip`, for the whole build). Features: `gen` (the generator),
//! `arbitrary` (its `Arbitrary`); `_internal_test_exports` is unstable and not for embedders.
//! The crate is 0.x: a release may break the API, and says so in the changelog. Rust 1.89 or
//! later (`rust-version`; only the current stable toolchain is tested).

#![forbid(unsafe_code)]
// docs.rs builds with nightly and `--cfg docsrs` (Cargo.toml): feature-gated items say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

// The documents of the repository, so that their Rust examples compile and run under
// `cargo test` (their shell examples are run by `cli/tests/docs.rs`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
#[cfg(doctest)]
#[doc = include_str!("../docs/FUZZING.md")]
struct FuzzingExamples;

// The crate's table of contents, in layers (each imports only those before it; tests/layers.rs
// checks it): `rule` (the rule ids) and `json` (reading and writing JSON without losing a
// byte); `model` (sessions, artifacts, kinds, the collections and their indexes, the state's
// errors); `engine` (a request read, its items decided, the plan committed, the answer
// rendered: `engine/pipeline.rs` runs them in that order); and one folder per tool built on
// them: `check`, `generate`, `lifecycle`.
mod engine;
mod json;
mod model;
mod rule;

pub mod check;
/// The fuzz harness: entry points of the fuzz targets and the model of the rules.
///
/// **Unstable, not for embedders**: compiled only with the `_internal_test_exports` feature,
/// which exists for this repository's tests and fuzz targets. No semver promise: it may change
/// or go in any release. It panics on a broken invariant by design, which is why the default
/// build leaves it out.
#[cfg(feature = "_internal_test_exports")]
#[doc(hidden)]
pub mod fuzzing;
/// The case generator's former name, kept for one release: use [`generate`]. (`gen` is a
/// reserved word in edition 2024, where this path must be written `r#gen`.)
#[cfg(feature = "gen")]
#[doc(hidden)]
pub mod r#gen;
#[cfg(feature = "gen")]
#[cfg_attr(docsrs, doc(cfg(feature = "gen")))]
pub mod generate;
pub mod lifecycle;

pub use engine::context::Context;
pub use engine::draw::MAX_DRAWS_PER_ITEM;
pub use engine::error::{ErrorCode, RequestError};
pub use engine::ids::{IdSource, SeededIds};
pub use engine::options::{GRAPH_SERVICE_ROOTS, MissingRemoval, Options};
pub use engine::outcome::{Answer, Applied, Body, ItemFailure, ItemOutcome, Operation, Response};
pub use engine::pipeline::{apply, apply_in_place, apply_request, apply_request_in_place};
pub use engine::request::Request;
pub use model::artifact::Artifact;
pub use model::enums::{ArtifactStatus, DestinationType, RestoreJobType, SessionStatus};
pub use model::error::StateError;
pub use model::kinds::{ArtifactCollection, Family, SessionKind};
pub use model::session::Session;
pub use model::time::{Timestamp, TimestampError};
pub use rule::{RuleId, UnknownRule};

/// The version of the decisions this crate makes: bumped whenever the answer to some input (a
/// vector of `tests/vectors/` or `tests/lifecycle-vectors/`, an id drawn, a lifecycle step)
/// changes, never for a change that keeps every answer. A store that journals inputs and
/// replays them (as `restore-delta-server` does) records it beside each decision and can then
/// say, instead of silently building another state, that a replay under another version
/// answers otherwise.
pub const ENGINE_VERSION: u32 = 1;

// The types a server shares between threads (sessions behind locks, options and parsed
// requests handed to workers, answers and errors sent back) are `Send + Sync`: a change that
// makes one of them not thread-safe fails to compile here.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Session>();
    shared::<Options>();
    shared::<Request<'static>>();
    shared::<Context<SeededIds>>();
    shared::<Timestamp>();
    shared::<Answer>();
    shared::<Applied>();
    shared::<Response>();
    shared::<Body>();
    shared::<ItemOutcome>();
    shared::<RequestError>();
    shared::<StateError>();
    shared::<Artifact<'static>>();
    shared::<lifecycle::Progress>();
    shared::<lifecycle::Schedule>();
    shared::<check::Settings>();
    shared::<check::Observed<'static>>();
    shared::<check::Verdict>();
};

#[cfg(feature = "gen")]
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<generate::Case>();
    shared::<generate::Generator>();
    shared::<generate::Sequence>();
};
