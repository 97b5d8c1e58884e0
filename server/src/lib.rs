//! A local Microsoft 365 Backup Storage restore-session server built on [`restore_delta`].
//!
//! It speaks Graph's restore-session endpoints (create, list, get, PATCH, delete, activate, list
//! artifacts, with OData query options, JSON batching and `$metadata`) under
//! `/v1.0/solutions/backupRestore/` and `/beta/solutions/backupRestore/`, over HTTP and HTTPS,
//! with the crate's reference semantics for every PATCH and its lifecycle rules for the rest,
//! so that a client built on Microsoft's Graph SDKs can be tested offline. `server/README.md`
//! shows it in use.
//!
//! - [`journal`]: the store on disk, an append-only journal of each change's inputs, and the
//!   file-system interface it is written through.
//! - [`store`]: the sessions in memory and every operation on them; opening (recovery).
//! - [`seeds`]: the seed stream every id comes from.
//! - [`http`]: paths, headers, authentication, the body limit, query options, connections.
//! - [`graph`]: Graph's answer and error shapes.
//! - [`faults`]: injected faults for clients' retry logic.
//! - [`tls`]: HTTPS, with a certificate given or a local CA made at start.
//! - [`deviate`]: rules broken on purpose (`--deviate`), a testing aid for conformance runners.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod deviate;
pub mod faults;
pub mod graph;
pub mod http;
pub mod journal;
pub mod seeds;
pub mod store;
pub mod tls;
