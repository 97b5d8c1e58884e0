//! Generated cases for fuzzing and differential campaigns (feature `gen`).
//!
//! A [`Generator`] turns a seed into an endless, deterministic stream of [`Case`]s: a state, a
//! request body, the options, the clock value and the id seed, everything another
//! implementation of the endpoint needs to be run on the same inputs as [`apply`]. The same
//! seed and knobs give the same cases, byte for byte, on every platform: the generator draws
//! from its own SplitMix64 (the algorithm of [`SeededIds`]) and never from
//! the operating system.
//!
//! [`Coverage`] counts which rules decided the answers to a set of cases (the rule an outcome
//! or a refusal names), and [`Case::vector`] writes a case in the format of `docs/VECTORS.md`
//! with the reference's answer.
//!
//! ```
//! use restore_delta::generate::{Coverage, Generator, Mix};
//! use restore_delta::RuleId;
//! let cases: Vec<_> = Generator::new(7).mix(Mix::Mixed).take(200).collect();
//! let again: Vec<_> = Generator::new(7).mix(Mix::Mixed).take(200).collect();
//! assert_eq!(cases, again);
//! let coverage = Coverage::of(&cases);
//! assert_eq!(coverage.cases(), 200);
//! assert!(coverage.count(RuleId::X4) > 0);
//! ```

use serde_json::Value;

use crate::{
    Applied, Context, Family, MissingRemoval, Options, SeededIds, Session, SessionKind, StateError,
    Timestamp, TimestampError, apply,
};

#[cfg(feature = "arbitrary")]
mod arbitrary;
mod builder;
mod coverage;
mod dict;
mod failures;
mod hostile;
mod reference;
mod rng;
mod shrink;
mod steps;
mod vector;

use builder::Builder;
pub use coverage::{Coverage, DECISION_RULES, decided_rules};
pub use dict::dictionary;
use rng::Rng;
pub use steps::{Sequence, Step};
#[doc(hidden)]
pub use vector::options_object;

/// What kind of requests a [`Generator`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mix {
    /// Requests that mostly succeed: well-formed additions and removals on draft sessions.
    Valid,
    /// Requests that reach the failure of every rule: refused envelopes (E1–E9), failing items
    /// of every kind (X, A, G) and atomic requests (O1), among successful items.
    Mixed,
    /// Bodies a server must survive: malformed JSON, deep nesting, duplicate member names, huge
    /// strings, byte-order marks, invalid UTF-8, wrong types at every level.
    Hostile,
}

impl Mix {
    /// The mix's name as the CLI spells it (`valid`, `mixed`, `hostile`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mix::Valid => "valid",
            Mix::Mixed => "mixed",
            Mix::Hostile => "hostile",
        }
    }
}

/// The options of a case: a `Prefer` header value, the limits, the policy, the caller and the
/// added service roots.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CaseOptions {
    /// The `Prefer` header value, if the request has one.
    pub prefer: Option<String>,
    /// Most items per request (E7).
    pub max_items: usize,
    /// Largest body in bytes (E1).
    pub max_bytes: usize,
    /// Deepest nesting (E2).
    pub max_depth: usize,
    /// How a removal of an absent id ends (X3).
    pub missing_removal: MissingRemoval,
    /// The caller's identity (an `identitySet`, as JSON text), written to `lastModifiedBy` when
    /// an item changed something (O6); `None` for none.
    pub actor: Option<String>,
    /// Service roots an absolute `restorePoint@odata.id` may start with besides Graph's (A2),
    /// as [`Options::with_service_root`] adds them.
    pub service_roots: Vec<String>,
}

impl Default for CaseOptions {
    fn default() -> Self {
        let d = Options::default();
        CaseOptions {
            prefer: None,
            max_items: d.max_items,
            max_bytes: d.max_bytes,
            max_depth: d.max_depth,
            missing_removal: d.missing_removal,
            actor: None,
            service_roots: Vec::new(),
        }
    }
}

impl CaseOptions {
    /// A context with `now`, the ids of `seed` and the actor, if any (an actor that is not a
    /// JSON object is left out).
    pub fn context(&self, now: Timestamp, seed: u64) -> Context<SeededIds> {
        let ctx = Context::new(now, SeededIds::new(seed));
        match self
            .actor
            .as_deref()
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
        {
            Some(actor @ Value::Object(_)) => ctx.with_actor(&actor),
            _ => ctx,
        }
    }

    /// These options as the library takes them.
    pub fn to_options(&self) -> Options {
        let mut o = Options::default()
            .with_max_items(self.max_items)
            .with_max_bytes(self.max_bytes)
            .with_max_depth(self.max_depth)
            .with_missing_removal(self.missing_removal);
        for root in &self.service_roots {
            o = o.with_service_root(root);
        }
        match &self.prefer {
            Some(p) => o.with_prefer(p),
            None => o,
        }
    }
}

/// One generated case: everything a PATCH needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Case {
    /// The session before the request, as JSON text.
    pub state: String,
    /// The request body (not always UTF-8 or JSON in the hostile mix).
    pub request: Vec<u8>,
    /// The `Prefer` value and the limits.
    pub options: CaseOptions,
    /// The request time, RFC 3339 in UTC.
    pub now: String,
    /// The seed of the id source ([`SeededIds`]); below 2^53, exact in any JSON parser.
    pub seed: u64,
}

impl Case {
    /// Applies the case with the reference: [`apply`] with the case's options, time and seed.
    ///
    /// # Errors
    /// The state error of rule S3 when the state is not one the library works on, or a `now`
    /// that is not RFC 3339 (generated cases have neither; a caller may have changed them).
    pub fn apply(&self) -> Result<Applied, CaseError> {
        let session = Session::from_json(self.state.as_bytes())?;
        apply_one(session, &self.request, &self.options, &self.now, self.seed)
    }
}

/// One PATCH applied with the reference: its options, its clock, the ids of its seed.
fn apply_one(
    session: Session,
    request: &[u8],
    options: &CaseOptions,
    now: &str,
    seed: u64,
) -> Result<Applied, CaseError> {
    let now = Timestamp::parse_rfc3339(now)?;
    let mut ctx = options.context(now, seed);
    Ok(apply(session, request, &options.to_options(), &mut ctx))
}

/// Why a [`Case`] could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// The state is not one the library works on (rule S3).
    #[error(transparent)]
    State(#[from] StateError),
    /// `now` is not an RFC 3339 time.
    #[error("now: {0}")]
    Now(#[from] TimestampError),
}

/// A deterministic stream of [`Case`]s; an [`Iterator`] that never ends.
///
/// Knobs (builder methods) choose the session kinds, the collection family, the state size, the
/// item count and the [`Mix`]. Defaults: all three kinds, both families, 5 stored artifacts, up
/// to 6 items, [`Mix::Mixed`].
#[derive(Clone, Debug)]
#[must_use]
pub struct Generator {
    rng: Rng,
    kinds: Vec<SessionKind>,
    family: Option<Family>,
    artifacts: usize,
    items: usize,
    mix: Mix,
}

impl Generator {
    /// A generator whose cases follow from `seed` alone (and the knobs).
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng::Seeded(seed),
            kinds: SessionKind::ALL.to_vec(),
            family: None,
            artifacts: 5,
            items: 6,
            mix: Mix::Mixed,
        }
    }

    /// A generator whose every decision is read from `data`, as a fuzzer's input: the bytes
    /// choose the kind, the family, each item's kind and each failure, not characters of the
    /// body. Each decision reads as few bytes as its number of choices needs, and every decision
    /// is the first choice once the bytes run out, so the same bytes give the same cases and a
    /// short input a plain one. This is what [`Case`]'s `Arbitrary` implementation (feature
    /// `arbitrary`) uses.
    ///
    /// ```
    /// use restore_delta::generate::Generator;
    /// let a = Generator::from_bytes(&[1, 2, 3, 200, 17]).case();
    /// assert_eq!(a, Generator::from_bytes(&[1, 2, 3, 200, 17]).case());
    /// assert!(a.apply().is_ok());
    /// ```
    pub fn from_bytes(data: &[u8]) -> Generator {
        Generator {
            rng: Rng::Bytes {
                data: data.to_vec(),
                at: 0,
            },
            ..Generator::new(0)
        }
    }

    /// These knobs with the decisions of `other`.
    #[cfg(feature = "arbitrary")]
    fn with_rng_of(mut self, other: Generator) -> Generator {
        self.rng = other.rng;
        self
    }

    /// Sessions of this kind only.
    pub fn kind(mut self, kind: SessionKind) -> Generator {
        self.kinds = vec![kind];
        self
    }

    /// Sessions of every kind (the default).
    pub fn all_kinds(mut self) -> Generator {
        self.kinds = SessionKind::ALL.to_vec();
        self
    }

    /// Requests on this family's collection only (`None`, the default: either).
    pub fn family(mut self, family: Option<Family>) -> Generator {
        self.family = family;
        self
    }

    /// The number of artifacts stored in the edited collection of each state.
    pub fn artifacts(mut self, n: usize) -> Generator {
        self.artifacts = n;
        self
    }

    /// The most items of a request (each request has 1 to `n`; at least 1).
    pub fn items(mut self, n: usize) -> Generator {
        self.items = n.max(1);
        self
    }

    /// The kind of requests.
    pub fn mix(mut self, mix: Mix) -> Generator {
        self.mix = mix;
        self
    }

    /// The next case.
    pub fn case(&mut self) -> Case {
        let (kind, family) = self.kind_and_family();
        let mut b = Builder::new(&mut self.rng, kind, family, self.artifacts);
        let count = 1 + b.rng.below(self.items);
        b.request(self.mix, count);
        b.finish()
    }
}

impl Generator {
    fn kind_and_family(&mut self) -> (SessionKind, Family) {
        let kind = self.rng.pick(&self.kinds, SessionKind::OneDriveForBusiness);
        let family = match self.family {
            Some(f) => f,
            None if self.rng.chance(50) => Family::Granular,
            None => Family::Standard,
        };
        (kind, family)
    }
}

impl Iterator for Generator {
    type Item = Case;

    fn next(&mut self) -> Option<Case> {
        Some(self.case())
    }
}
