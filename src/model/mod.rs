//! What a restore session is: its kinds and collections, its artifacts, the enums and times it
//! holds, the indexed collections the engine decides against (`index` is their speed
//! machinery, measured in `docs/PERFORMANCE.md`), and the error of a state it can't read
//! (`error`).

pub(crate) mod artifact;
pub(crate) mod collection;
pub(crate) mod enums;
pub(crate) mod error;
pub(crate) mod index;
pub(crate) mod kinds;
pub(crate) mod session;
pub(crate) mod strref;
pub(crate) mod time;
