//! The PATCH pipeline, in the order `pipeline` runs it: `request` (the body read and its
//! envelope checked, rules E1–E9), `decide` (each item against the evolving collection), `commit`
//! (the plan applied at once), `render` (the answer). Beside them: what comes in (`options`,
//! `context`, `ids`), what goes out (`outcome`, `error`), and `reference` (rule A2's IRIs).

pub(crate) mod commit;
pub(crate) mod context;
pub(crate) mod decide;
pub(crate) mod draw;
pub(crate) mod error;
pub(crate) mod ids;
pub(crate) mod options;
pub(crate) mod outcome;
pub(crate) mod overlay;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod prepare;
pub(crate) mod reference;
pub(crate) mod render;
pub(crate) mod request;
