//! Restore point references (rule A2) and `Prefer` values (rules O1, O5, O7, O8) of generated
//! cases: every `@odata.id` form the reference accepts and every form it refuses, and `Prefer`
//! values well-formed, repeated, quoted, with parameters, not understood and broken.

use serde_json::{Value, json};

use super::Builder;
use crate::GRAPH_SERVICE_ROOTS;

/// The service root a generated case's options add (`Options::with_service_root`), as a local
/// server passes its own; an `@odata.id` under it is resolved (A2).
pub(crate) const LOCAL_ROOT: &str = "http://127.0.0.1:8080/v1.0/";

/// A root no generated case adds: an `@odata.id` under it names nothing (A2).
const UNKNOWN_ROOT: &str = "http://127.0.0.1:8081/v1.0/";

/// The accepted forms of [`accepted`]: the first [`EXACT_FORMS`] name the restore point given,
/// the others a key made from it with a character that must be escaped or doubled.
pub(crate) const ACCEPTED_FORMS: usize = 17;
/// The accepted forms that name the restore point given (A4 duplicates use these).
pub(crate) const EXACT_FORMS: usize = 14;
/// The form of [`accepted`] under [`LOCAL_ROOT`].
const LOCAL_FORM: usize = 10;
/// The refused forms of [`refused`].
pub(crate) const REFUSED_FORMS: usize = 29;

/// A `restorePoint` naming `rp` (forms below [`EXACT_FORMS`]) or a key made from it, in accepted
/// form `form`: a bare key; `restorePoints/…`, `('…')` and `(…)`, relative, with a leading `/`,
/// under `solutions/backupRestore/`, under Graph's roots (in any case) and under
/// [`LOCAL_ROOT`]; a percent-escaped key, an escaped quote, `id` and `@odata.id` together; a key
/// with a doubled quote, an escaped `/` and an escaped UTF-8 character.
fn accepted(rp: &str, form: usize) -> Value {
    let [v1, beta] = GRAPH_SERVICE_ROOTS;
    let iri = match form {
        0 => rp.to_owned(),
        1 => format!("restorePoints/{rp}"),
        2 => format!("/restorePoints/{rp}"),
        3 => format!("restorePoints('{rp}')"),
        4 => format!("restorePoints({rp})"),
        5 => format!("solutions/backupRestore/restorePoints/{rp}"),
        6 => format!("/solutions/backupRestore/restorePoints('{rp}')"),
        7 => format!("{v1}solutions/backupRestore/restorePoints/{rp}"),
        8 => format!("{beta}restorePoints({rp})"),
        9 => format!("HTTPS://Graph.Microsoft.com/V1.0/Solutions/BackupRestore/RestorePoints/{rp}"),
        LOCAL_FORM => format!("{LOCAL_ROOT}solutions/backupRestore/restorePoints/{rp}"),
        // The first character escaped (generated restore points start with `r`).
        11 => format!("restorePoints/%72{}", rp.get(1..).unwrap_or_default()),
        12 => format!("restorePoints(%27{rp}%27)"),
        13 => return json!({"id": rp, "@odata.id": format!("restorePoints('{rp}')")}),
        // Keys `{rp}'s`, `{rp}/x` and `{rp}é`.
        14 => format!("restorePoints('{rp}''s')"),
        15 => format!("restorePoints/{rp}%2Fx"),
        _ => format!("restorePoints/{rp}%C3%A9"),
    };
    json!({ "@odata.id": iri })
}

/// A `restorePoint` that names no restore point, in refused form `form`: empty keys, longer
/// paths, a query or a fragment, unbalanced or lone quotes, a `/` in parentheses, other entity
/// sets, a partial prefix, unknown roots and schemes, a network path, `..`, bad or non-UTF-8
/// escapes, a bare key with `(`, `id` and `@odata.id` naming two keys, an `@odata.id` that is
/// not a string.
fn refused(rp: &str, form: usize) -> Value {
    let iri = match form {
        0 => String::new(),
        1 => "restorePoints/".to_owned(),
        2 => "restorePoints('')".to_owned(),
        3 => "restorePoints()".to_owned(),
        4 => format!("restorePoints/{rp}/x"),
        5 => format!("restorePoints/{rp}?$select=id"),
        6 => format!("{rp}#frag"),
        7 => format!("restorePoints('{rp}')/x"),
        8 => format!("restorePoints('{rp}"),
        9 => format!("restorePoints('{rp}'s')"),
        10 => format!("restorePoints({rp}'s)"),
        11 => format!("restorePoints('{rp}/x')"),
        12 => format!("protectionUnits/{rp}"),
        13 => format!("solutions/backupRestore/protectionPolicies/{rp}"),
        14 => format!("backupRestore/restorePoints/{rp}"),
        15 => {
            format!("https://graph.microsoft.com/v2.0/solutions/backupRestore/restorePoints/{rp}")
        }
        16 => format!("{UNKNOWN_ROOT}solutions/backupRestore/restorePoints/{rp}"),
        17 => format!("http://graph.microsoft.com/v1.0/restorePoints/{rp}"),
        18 => format!("urn:rp:restorePoints/{rp}"),
        19 => format!("//graph.microsoft.com/v1.0/restorePoints/{rp}"),
        20 => format!("../restorePoints/{rp}"),
        21 => format!("restorePoints/{rp}%"),
        22 => format!("restorePoints/{rp}%2"),
        23 => format!("restorePoints/{rp}%zz"),
        24 => format!("restorePoints/{rp}%FF"),
        25 => format!("restorePoints/{rp}%C3"),
        26 => format!("{rp}(1"),
        27 => return json!({"id": rp, "@odata.id": format!("restorePoints/{rp}X")}),
        _ => return json!({"@odata.id": 5}),
    };
    json!({ "@odata.id": iri })
}

/// `Prefer` values a client sends, well-formed and understood: each preference alone and
/// together, both names of continue-on-error, quoted values, parameters after `;`, names and
/// values in another case, preferences the crate ignores.
const PREFER_UNDERSTOOD: [&str; 13] = [
    "return=minimal",
    "return=representation",
    "continue-on-error",
    "continue-on-error=false",
    "odata.continue-on-error",
    "odata.continue-on-error=false",
    "include-unknown-enum-members",
    "return=representation, include-unknown-enum-members",
    "return=\"minimal\"",
    "odata.continue-on-error=\"false\"",
    "return=minimal; foo=bar",
    "Return=Minimal, Continue-On-Error=FALSE",
    "respond-async, wait=10, return=minimal",
];

/// `Prefer` values whose preferences are given twice (the first counts, RFC 7240), whose values
/// are not understood, or whose separators are quoted; and an empty one.
const PREFER_ODD: [&str; 8] = [
    "return=minimal, return=representation",
    "continue-on-error=false, continue-on-error=true",
    "odata.continue-on-error, continue-on-error=false",
    "continue-on-error=maybe, continue-on-error=false",
    "return=fast, return=minimal",
    "include-unknown-enum-members, include-unknown-enum-members; x=1",
    "foo=\"a,b;c\", return=\"minimal\"; x=1",
    "",
];

/// Broken `Prefer` values: an unterminated quote, an escaped quote, separators alone, a value
/// without a name, a name without a value, a value that is not ASCII, an empty quoted value.
const PREFER_BROKEN: [&str; 7] = [
    "return=\"minimal",
    "foo=\"a\\\"b, return=minimal\", continue-on-error=false",
    ",,;;==",
    "=minimal",
    "return",
    "return=minim\u{e5}l, include-unknown-enum-members",
    "continue-on-error=\"\"",
];

/// The `Prefer` values that make a request atomic (O1), in several spellings.
const PREFER_ATOMIC: [&str; 4] = [
    "continue-on-error=false",
    "odata.continue-on-error=false",
    "odata.continue-on-error=\"false\"",
    "Continue-On-Error=FALSE; x=1",
];

/// Which `Prefer` values a mix draws from.
#[derive(Clone, Copy)]
pub(crate) enum Prefer {
    /// Understood values ([`PREFER_UNDERSTOOD`]).
    Understood,
    /// Understood or odd ones ([`PREFER_ODD`]).
    Odd,
    /// Odd or broken ones ([`PREFER_BROKEN`]).
    Broken,
    /// The atomic spellings ([`PREFER_ATOMIC`]).
    Atomic,
}

impl Builder<'_> {
    /// A `restorePoint` naming `rp` (or a key made from it) in one of the first `forms` accepted
    /// forms; under [`LOCAL_ROOT`], the case's options add that root.
    pub(crate) fn accepted_reference(&mut self, rp: &str, forms: usize) -> Value {
        let form = self.rng.below(forms.min(ACCEPTED_FORMS));
        if form == LOCAL_FORM {
            self.add_local_root(false);
        }
        accepted(rp, form)
    }

    /// A `restorePoint` with an `@odata.id` that names nothing (A2).
    pub(crate) fn refused_reference(&mut self, rp: &str) -> Value {
        let form = self.rng.below(REFUSED_FORMS);
        refused(rp, form)
    }

    /// Adds [`LOCAL_ROOT`] to the case's service roots, once; written without its final `/`
    /// when `bare` (`Options::with_service_root` appends it).
    pub(crate) fn add_local_root(&mut self, bare: bool) {
        let root = LOCAL_ROOT.trim_end_matches('/');
        if !self
            .options
            .service_roots
            .iter()
            .any(|r| r.starts_with(root))
        {
            let root = if bare { root } else { LOCAL_ROOT };
            self.options.service_roots.push(root.to_owned());
        }
    }

    /// Sets the case's `Prefer` value to one of `which`.
    pub(crate) fn prefer(&mut self, which: Prefer) {
        let value = match which {
            Prefer::Understood => self.rng.pick(&PREFER_UNDERSTOOD, "return=minimal"),
            Prefer::Atomic => self.rng.pick(&PREFER_ATOMIC, "continue-on-error=false"),
            Prefer::Odd => {
                let all = [&PREFER_UNDERSTOOD[..], &PREFER_ODD[..]].concat();
                self.rng.pick(&all, "return=minimal")
            }
            Prefer::Broken => {
                let all = [&PREFER_ODD[..], &PREFER_BROKEN[..]].concat();
                self.rng.pick(&all, "")
            }
        };
        self.options.prefer = Some(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    /// What the reference resolves a generated `restorePoint` to: `Some(key)` or `None`.
    fn resolved(rp: &Value) -> Option<String> {
        let options = Options::default().with_service_root(LOCAL_ROOT);
        let iri = rp.get("@odata.id")?.as_str()?;
        let key = crate::engine::reference::restore_point_key(iri, &options)?.into_owned();
        match rp.get("id").and_then(Value::as_str) {
            Some(id) if id != key => None,
            _ => Some(key),
        }
    }

    #[test]
    fn accepted_forms_name_the_restore_point_or_a_key_made_from_it() {
        let rp = "rp-n0-17";
        for form in 0..ACCEPTED_FORMS {
            let want = match form {
                14 => "rp-n0-17's",
                15 => "rp-n0-17/x",
                16 => "rp-n0-17\u{e9}",
                _ => rp,
            };
            assert_eq!(
                resolved(&accepted(rp, form)).as_deref(),
                Some(want),
                "{form}"
            );
            assert_eq!(form < EXACT_FORMS, want == rp, "{form}");
        }
    }

    #[test]
    fn refused_forms_name_nothing() {
        for form in 0..REFUSED_FORMS {
            let r = refused("rp-n0-17", form);
            assert_eq!(resolved(&r), None, "{form}: {r}");
        }
        // The last form is not a string at all.
        assert!(refused("rp-1", REFUSED_FORMS - 1)["@odata.id"].is_number());
    }
}
