//! Deviations: rules broken on purpose (`--deviate NAME[,NAME…]`), a testing aid.
//!
//! A tester of a PATCH client or a conformance runner (`restore-delta conform`) needs a server
//! that is wrong in a known way, to prove that it notices. Each [`Deviation`] breaks one rule
//! of `docs/SEMANTICS.md` the way a real implementation might: another status or error code
//! where the rule decides an item or refuses the request, a preference ignored, a member missing
//! from an entry, entries out of request order, or (the two that *store* wrong) an answer that
//! is exactly right over a collection that is not. Every deviation acts only where its rule
//! decides; everything else is answered as the faithful server answers it.
//!
//! None is ever on by default. The faithful path does not change: with no deviation in force a
//! PATCH is decided exactly as before, and the only cost is one test of an empty set.
//!
//! Deviations are journaled like any input: a PATCH record carries the deviations in force that
//! could change it ([`Deviations::journaled`]), a replay applies them, so a deviating server
//! restarts to the state it served; a record without them replays faithfully, whatever the
//! flags of the restart.
//!
//! Starting a deviating server in-process:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use restore_delta_server::deviate::Deviations;
//! use restore_delta_server::http::{App, Limits, serve};
//! use restore_delta_server::store::{Config, Store};
//!
//! let config = Config::new(None, 7).with_deviations(Deviations::parse("x3,a7")?);
//! let (store, _) = Store::open(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("http://{}/v1.0", listener.local_addr()?);
//! serve(listener, Arc::new(App::new(store)), Limits::default(), std::future::pending()).await;
//! # Ok(())
//! # }
//! ```
//!
//! Two rules have no deviation. E3 (only draft, never bulk sessions) decides only on sessions
//! that are activated or bulk, which a conformance runner never makes (it never activates: on
//! Graph that starts a real restore); a deviation there could not be found by it. The order of
//! members inside an object is no rule: the reference check compares objects without regard to
//! member order (rule C1), as JSON and OData allow, so a server writing them in another order is
//! conformant, not deviating.

mod decide;

use std::fmt;

use restore_delta::RuleId;

pub(crate) use decide::{decide, refused, too_large};

/// One rule broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Deviation {
    /// `e1`: a body over the limit is refused 400 `InvalidPatchRequest`, not 413.
    E1,
    /// `e2`: a malformed body is refused with code `BadRequest`, not `InvalidPatchRequest`.
    E2,
    /// `e4`: body members the server does not know are ignored instead of refusing the request.
    E4,
    /// `e5`: both deltas in one body are refused with code `BadRequest`.
    E5,
    /// `e6`: a missing, `null` or empty delta is refused with code `InvalidPatchRequest`.
    E6,
    /// `e7`: no item limit.
    E7,
    /// `e8`: an item that is not an object refuses the request with code `BadRequest`.
    E8,
    /// `e9`: a second family of artifacts is refused 409, not 400.
    E9,
    /// `x1`: a removal with a bad marker fails with code `BadRequest`.
    X1,
    /// `x2`: a removal without a string id fails with code `BadRequest`.
    X2,
    /// `x3`: a removal of an id the collection does not hold fails 404 `itemNotFound`.
    X3,
    /// `x4`: a removal's entry has no `@removed` marker.
    X4,
    /// `a1`: an addition with a member not allowed fails with code `BadRequest`.
    A1,
    /// `a2`: a bad restore point fails with code `InvalidPatchRequest`.
    A2,
    /// `a3`: a bad destination type fails with code `InvalidPatchRequest`.
    A3,
    /// `a4`: a restore point already in the collection fails with `responseCode` 409.
    A4,
    /// `a5`: a second destination type fails with code `InvalidPathType`.
    A5,
    /// `a6`: a granular mailbox addition without `searchResponseId` fails with code
    /// `BadRequest`.
    A6,
    /// `a7`: an added artifact's entry has no `createdDateTime`.
    A7,
    /// `g1`: a granular addition with a member not allowed fails with code `BadRequest`.
    G1,
    /// `g2`: a granular addition without a browse session or item key fails with code
    /// `BadRequest`.
    G2,
    /// `g3`: an item key already in the collection fails with `responseCode` 409.
    G3,
    /// `g4`: an added granular drive or site artifact's entry carries a `createdDateTime`.
    G4,
    /// `o1`: `Prefer: continue-on-error=false` is ignored.
    O1,
    /// `o5`: `Prefer: return=minimal` is ignored.
    O5,
    /// `o8`: no `Preference-Applied` header.
    O8,
    /// `entry-order`: the delta's entries out of request order (rule O3). The reference check
    /// compares entries by position, so it names the rule of the item expected where a moved
    /// entry stands (a difference under `/body/<collection>@delta/…`), not O3.
    EntryOrder,
    /// `keep-removed`: removals answered right, the removed artifacts kept (stores wrong: only
    /// a read-back of the collection finds it).
    KeepRemoved,
    /// `drop-added`: additions answered right, the added artifacts not stored (stores wrong:
    /// only a read-back of the collection finds it).
    DropAdded,
}

/// Every deviation, in the order `--deviate list` shows them.
pub const ALL: [Deviation; 29] = [
    Deviation::E1,
    Deviation::E2,
    Deviation::E4,
    Deviation::E5,
    Deviation::E6,
    Deviation::E7,
    Deviation::E8,
    Deviation::E9,
    Deviation::X1,
    Deviation::X2,
    Deviation::X3,
    Deviation::X4,
    Deviation::A1,
    Deviation::A2,
    Deviation::A3,
    Deviation::A4,
    Deviation::A5,
    Deviation::A6,
    Deviation::A7,
    Deviation::G1,
    Deviation::G2,
    Deviation::G3,
    Deviation::G4,
    Deviation::O1,
    Deviation::O5,
    Deviation::O8,
    Deviation::EntryOrder,
    Deviation::KeepRemoved,
    Deviation::DropAdded,
];

impl Deviation {
    /// The name `--deviate` takes: the rule id in lower case (`x3`), or `entry-order`,
    /// `keep-removed`, `drop-added`.
    pub fn name(self) -> &'static str {
        match self {
            Deviation::E1 => "e1",
            Deviation::E2 => "e2",
            Deviation::E4 => "e4",
            Deviation::E5 => "e5",
            Deviation::E6 => "e6",
            Deviation::E7 => "e7",
            Deviation::E8 => "e8",
            Deviation::E9 => "e9",
            Deviation::X1 => "x1",
            Deviation::X2 => "x2",
            Deviation::X3 => "x3",
            Deviation::X4 => "x4",
            Deviation::A1 => "a1",
            Deviation::A2 => "a2",
            Deviation::A3 => "a3",
            Deviation::A4 => "a4",
            Deviation::A5 => "a5",
            Deviation::A6 => "a6",
            Deviation::A7 => "a7",
            Deviation::G1 => "g1",
            Deviation::G2 => "g2",
            Deviation::G3 => "g3",
            Deviation::G4 => "g4",
            Deviation::O1 => "o1",
            Deviation::O5 => "o5",
            Deviation::O8 => "o8",
            Deviation::EntryOrder => "entry-order",
            Deviation::KeepRemoved => "keep-removed",
            Deviation::DropAdded => "drop-added",
        }
    }

    /// The deviation of this name (without regard to ASCII case).
    pub fn from_name(name: &str) -> Option<Deviation> {
        ALL.into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The rule it breaks: the rule the reference check names for the difference it makes
    /// (`O3` for `entry-order`, whose differences the check names by the items' rules; `X4`
    /// for `keep-removed` and `A7` for `drop-added`, which only a read-back of the collection
    /// finds).
    pub fn rule(self) -> RuleId {
        match self {
            Deviation::E1 => RuleId::E1,
            Deviation::E2 => RuleId::E2,
            Deviation::E4 => RuleId::E4,
            Deviation::E5 => RuleId::E5,
            Deviation::E6 => RuleId::E6,
            Deviation::E7 => RuleId::E7,
            Deviation::E8 => RuleId::E8,
            Deviation::E9 => RuleId::E9,
            Deviation::X1 => RuleId::X1,
            Deviation::X2 => RuleId::X2,
            Deviation::X3 => RuleId::X3,
            Deviation::X4 | Deviation::KeepRemoved => RuleId::X4,
            Deviation::A1 => RuleId::A1,
            Deviation::A2 => RuleId::A2,
            Deviation::A3 => RuleId::A3,
            Deviation::A4 => RuleId::A4,
            Deviation::A5 => RuleId::A5,
            Deviation::A6 => RuleId::A6,
            Deviation::A7 | Deviation::DropAdded => RuleId::A7,
            Deviation::G1 => RuleId::G1,
            Deviation::G2 => RuleId::G2,
            Deviation::G3 => RuleId::G3,
            Deviation::G4 => RuleId::G4,
            Deviation::O1 => RuleId::O1,
            Deviation::O5 => RuleId::O5,
            Deviation::O8 => RuleId::O8,
            Deviation::EntryOrder => RuleId::O3,
        }
    }

    /// Whether it answers exactly right and stores wrong, so that only reading the collection
    /// back finds it (`keep-removed`, `drop-added`).
    pub fn stores_wrong(self) -> bool {
        matches!(self, Deviation::KeepRemoved | Deviation::DropAdded)
    }

    /// What it does wrong, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Deviation::E1 => {
                "a body over the limit is refused 400 InvalidPatchRequest instead of 413 RequestEntityTooLarge"
            }
            Deviation::E2 => {
                "a malformed body is refused with code BadRequest instead of InvalidPatchRequest"
            }
            Deviation::E4 => {
                "body members it does not know are ignored (the rest is decided) instead of refusing the request"
            }
            Deviation::E5 => {
                "a body with both the standard and the granular delta is refused with code BadRequest"
            }
            Deviation::E6 => {
                "a missing, null or empty delta is refused with code InvalidPatchRequest instead of InvalidArtifactRequest"
            }
            Deviation::E7 => "no item limit: a delta of more than 50 items is decided, not refused",
            Deviation::E8 => {
                "an item that is not an object refuses the request with code BadRequest"
            }
            Deviation::E9 => {
                "a second family of artifacts (standard and granular) is refused 409 instead of 400"
            }
            Deviation::X1 => "a removal with a bad @removed marker fails with code BadRequest",
            Deviation::X2 => "a removal without a string id fails with code BadRequest",
            Deviation::X3 => {
                "a removal of an id not in the collection fails 404 itemNotFound instead of 409 Invalid"
            }
            Deviation::X4 => "a removal's entry has no @removed marker, only the id",
            Deviation::A1 => "an addition with a member not allowed fails with code BadRequest",
            Deviation::A2 => {
                "a bad restore point fails with code InvalidPatchRequest instead of InvalidRestorePoint"
            }
            Deviation::A3 => {
                "a bad destination type fails with code InvalidPatchRequest instead of InvalidPathType"
            }
            Deviation::A4 => {
                "a restore point already in the collection fails with responseCode 409 instead of 400"
            }
            Deviation::A5 => {
                "a second destination type fails with code InvalidPathType instead of DifferentRestoreDestinationType"
            }
            Deviation::A6 => {
                "a granular mailbox addition without searchResponseId fails with code BadRequest"
            }
            Deviation::A7 => {
                "an added artifact's entry has no createdDateTime (the stored artifact has it)"
            }
            Deviation::G1 => {
                "a granular addition with a member not allowed fails with code BadRequest"
            }
            Deviation::G2 => {
                "a granular addition without browseSessionId or item key fails with code BadRequest"
            }
            Deviation::G3 => {
                "an item key already in the collection fails with responseCode 409 instead of 400"
            }
            Deviation::G4 => {
                "an added granular drive or site artifact's entry carries a createdDateTime"
            }
            Deviation::O1 => {
                "Prefer: continue-on-error=false is ignored: the items that succeed are applied, 200 with per-item failures"
            }
            Deviation::O5 => {
                "Prefer: return=minimal is ignored: 200 with the body where 204 is due"
            }
            Deviation::O8 => "no Preference-Applied header",
            Deviation::EntryOrder => {
                "the delta's entries out of request order (the first entry last), rule O3"
            }
            Deviation::KeepRemoved => {
                "stores wrong: removals answered right, but the removed artifacts stay in the collection (rule X4)"
            }
            Deviation::DropAdded => {
                "stores wrong: additions answered right, but the added artifacts are not stored (rules A7, G4)"
            }
        }
    }

    fn bit(self) -> u64 {
        let index = ALL.iter().position(|d| *d == self).unwrap_or(0);
        1u64 << index
    }

    /// Whether it can change a PATCH that commits (a 200 or a 204), and so the journal's record
    /// of it; the others change only refusals, which are not journaled.
    fn changes_commits(self) -> bool {
        !matches!(
            self,
            Deviation::E1
                | Deviation::E2
                | Deviation::E5
                | Deviation::E6
                | Deviation::E8
                | Deviation::E9
        )
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of deviations; [`Deviations::NONE`] (the default) is the faithful server.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Deviations(u64);

impl Deviations {
    /// No deviation: the faithful server.
    pub const NONE: Deviations = Deviations(0);

    /// A comma-separated list of names (`"x1,a7"`, case and spaces around names ignored; an
    /// empty list is [`Deviations::NONE`]); an unknown name is an error naming it and listing
    /// the known ones.
    pub fn parse(list: &str) -> Result<Deviations, String> {
        Deviations::from_names(list.split(',').filter(|n| !n.trim().is_empty()))
    }

    /// The deviations of these names.
    pub fn from_names<S: AsRef<str>>(
        names: impl IntoIterator<Item = S>,
    ) -> Result<Deviations, String> {
        let mut set = Deviations::NONE;
        for name in names {
            let name = name.as_ref();
            let d = Deviation::from_name(name).ok_or_else(|| {
                format!(
                    "no deviation {:?} (known: {})",
                    name.trim(),
                    ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
                )
            })?;
            set = set.with(d);
        }
        Ok(set)
    }

    /// Every deviation at once.
    pub fn all() -> Deviations {
        Deviations::from_iter(ALL)
    }

    /// This set and `d`.
    #[must_use]
    pub fn with(self, d: Deviation) -> Deviations {
        Deviations(self.0 | d.bit())
    }

    /// Whether `d` is in force.
    pub fn contains(self, d: Deviation) -> bool {
        self.0 & d.bit() != 0
    }

    /// Whether none is in force (the faithful server).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The deviations in force, in the order of [`ALL`].
    pub fn iter(self) -> impl Iterator<Item = Deviation> {
        ALL.into_iter().filter(move |d| self.contains(*d))
    }

    /// Their names, in the order of [`ALL`].
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Deviation::name).collect()
    }

    /// Those that can change a PATCH that commits, and so go in its journal record: the
    /// others (`e1`, `e2`, `e5`, `e6`, `e8`, `e9`) change only refusals, which are not
    /// journaled.
    pub fn journaled(self) -> Deviations {
        Deviations::from_iter(self.iter().filter(|d| d.changes_commits()))
    }
}

impl FromIterator<Deviation> for Deviations {
    fn from_iter<I: IntoIterator<Item = Deviation>>(iter: I) -> Deviations {
        iter.into_iter().fold(Deviations::NONE, Deviations::with)
    }
}

impl fmt::Display for Deviations {
    /// The names, comma-separated (what [`Deviations::parse`] reads back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

impl fmt::Debug for Deviations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deviations({self})")
    }
}

impl std::str::FromStr for Deviations {
    type Err = String;
    fn from_str(s: &str) -> Result<Deviations, String> {
        Deviations::parse(s)
    }
}

/// The table `--deviate list` prints: one line per deviation, its name, rule and what it does
/// wrong.
pub fn table() -> String {
    let width = ALL.iter().map(|d| d.name().len()).max().unwrap_or(0);
    ALL.iter()
        .map(|d| {
            format!(
                "{:width$}  {:2}  {}\n",
                d.name(),
                d.rule().as_str(),
                d.description()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_are_distinct() {
        for d in ALL {
            assert_eq!(Deviation::from_name(d.name()), Some(d));
            assert_eq!(Deviation::from_name(&d.name().to_uppercase()), Some(d));
            assert!(!d.description().contains('\n'));
        }
        let all = Deviations::all();
        assert_eq!(all.iter().count(), ALL.len());
        assert_eq!(Deviations::parse(&all.to_string()), Ok(all));
        assert_eq!(
            Deviations::parse(" X1 , a7,"),
            Ok(Deviations::parse("a7,x1").unwrap())
        );
        assert_eq!(Deviations::parse(""), Ok(Deviations::NONE));
        assert!(Deviations::NONE.is_empty() && Deviations::default().is_empty());
        let e = Deviations::parse("x1,nope").unwrap_err();
        assert!(e.contains("\"nope\"") && e.contains("keep-removed"), "{e}");
        assert_eq!(
            Deviations::parse("e1,e2,x3").unwrap().journaled().names(),
            ["x3"]
        );
        assert_eq!(table().lines().count(), ALL.len());
    }
}
