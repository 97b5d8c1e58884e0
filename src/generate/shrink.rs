//! Minimising a case that makes something fail: fewest items, smallest state.

use serde_json::{Map, Value};

use super::{Case, CaseOptions};

/// The most times [`Case::shrink`] asks its predicate.
const MAX_TRIES: usize = 2_000;

impl Case {
    /// A smallest case, found greedily, on which `still_fails` still holds, given that it holds
    /// on `self` (it is not asked about `self`). One change at a time is tried and kept when
    /// `still_fails` says the candidate still fails, until no change is kept: first an item of
    /// the body is removed (when the body is a JSON object; a body that is not is kept as it is),
    /// then a member of an item or of the body, then an element of an array of the state (an
    /// artifact), then a member of the state (all but `@odata.type` and `id`) or of an
    /// artifact (all but `id`), then an option is set back to its default. The result may fail
    /// for another reason than `self`: the predicate decides what counts. At most 2,000 tries.
    ///
    /// ```
    /// use restore_delta::generate::{Case, Generator, Mix};
    /// use restore_delta::ItemOutcome;
    /// // The first case whose answer has a 409 item (X3), shrunk to one item on a smaller state.
    /// let has_409 = |c: &Case| {
    ///     c.apply().is_ok_and(|a| {
    ///         a.answer.outcomes.iter().any(|o| matches!(o, ItemOutcome::Failed(f) if f.status == 409))
    ///     })
    /// };
    /// let case = Generator::new(2).mix(Mix::Mixed).find(|c| has_409(c)).unwrap();
    /// let small = case.shrink(has_409);
    /// assert!(has_409(&small));
    /// assert!(small.request.len() <= case.request.len());
    /// assert!(small.state.len() <= case.state.len());
    /// ```
    pub fn shrink(&self, mut still_fails: impl FnMut(&Case) -> bool) -> Case {
        let mut best = self.clone();
        let mut tries = 0usize;
        'outer: loop {
            for candidate in candidates(&best) {
                if tries >= MAX_TRIES {
                    break 'outer;
                }
                tries += 1;
                if still_fails(&candidate) {
                    best = candidate;
                    continue 'outer;
                }
            }
            break;
        }
        best
    }
}

/// Every case one change smaller than `case`, in the order [`Case::shrink`] tries them.
fn candidates(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    let with_request = |body: Value| {
        let mut c = case.clone();
        c.request = body.to_string().into_bytes();
        c
    };
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&case.request) {
        let body = Value::Object(body);
        out.extend(smaller_elements(&body).into_iter().map(with_request));
        out.extend(smaller_members(&body, &[]).into_iter().map(with_request));
    }
    if let Ok(state) = serde_json::from_str::<Value>(&case.state) {
        let with_state = |state: Value| {
            let mut c = case.clone();
            c.state = state.to_string();
            c
        };
        out.extend(smaller_elements(&state).into_iter().map(with_state));
        out.extend(
            smaller_members(&state, &["@odata.type", "id"])
                .into_iter()
                .map(with_state),
        );
    }
    let d = CaseOptions::default();
    let mut option = |change: fn(&mut CaseOptions, &CaseOptions), differs: bool| {
        if differs {
            let mut c = case.clone();
            change(&mut c.options, &d);
            out.push(c);
        }
    };
    option(|o, _| o.prefer = None, case.options.prefer.is_some());
    option(
        |o, d| o.max_items = d.max_items,
        case.options.max_items != d.max_items,
    );
    option(
        |o, d| o.max_bytes = d.max_bytes,
        case.options.max_bytes != d.max_bytes,
    );
    option(
        |o, d| o.max_depth = d.max_depth,
        case.options.max_depth != d.max_depth,
    );
    option(
        |o, d| o.missing_removal = d.missing_removal,
        case.options.missing_removal != d.missing_removal,
    );
    option(|o, _| o.actor = None, case.options.actor.is_some());
    option(
        |o, _| o.service_roots.clear(),
        !case.options.service_roots.is_empty(),
    );
    out
}

/// The object `root` with one element removed from one of its array members, for each element.
fn smaller_elements(root: &Value) -> Vec<Value> {
    let Some(members) = root.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in members {
        let Some(elements) = value.as_array() else {
            continue;
        };
        for i in 0..elements.len() {
            let mut fewer = elements.clone();
            fewer.remove(i);
            out.push(replaced(members, name, Value::Array(fewer)));
        }
    }
    out
}

/// The object `root` with one member removed: a member of `root` itself (but those in `keep`),
/// or a member (but `id`) of an object in one of its arrays.
fn smaller_members(root: &Value, keep: &[&str]) -> Vec<Value> {
    let Some(members) = root.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in members {
        if let Some(elements) = value.as_array() {
            for (i, element) in elements.iter().enumerate() {
                let Some(inner) = element.as_object() else {
                    continue;
                };
                for inner_name in inner.keys().filter(|k| k.as_str() != "id") {
                    let mut smaller = inner.clone();
                    smaller.remove(inner_name);
                    let mut fewer = elements.clone();
                    if let Some(slot) = fewer.get_mut(i) {
                        *slot = Value::Object(smaller);
                    }
                    out.push(replaced(members, name, Value::Array(fewer)));
                }
            }
        }
        if !keep.contains(&name.as_str()) {
            let mut smaller = members.clone();
            smaller.remove(name);
            out.push(Value::Object(smaller));
        }
    }
    out
}

fn replaced(members: &Map<String, Value>, name: &str, value: Value) -> Value {
    let mut m = members.clone();
    m.insert(name.to_owned(), value);
    Value::Object(m)
}
