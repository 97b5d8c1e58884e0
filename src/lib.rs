#![doc = include_str!("../README.md")]
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
