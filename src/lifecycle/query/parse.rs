//! Reading the query string's options (rules Q1–Q3, Q5–Q8): which options a target takes,
//! each option's value, and the `$skiptoken` against the query it belongs to.

use crate::lifecycle::query::filter;
use crate::lifecycle::query::schema::{self, Entity};
use crate::lifecycle::query::token::{self, Token};
use crate::lifecycle::query::value::Reads;
use crate::lifecycle::query::{
    DEFAULT_TOP, Expand, MAX_EXPANDED, MAX_OPTION_BYTES, MAX_ORDERBY, MAX_TOP, Query, QueryError,
    Target,
};
use crate::model::kinds::{ArtifactCollection, SessionKind, type_name_matches};
use crate::rule::RuleId;

/// The system query options this service serves, by their name without `$`.
const SERVED: [&str; 8] = [
    "select",
    "expand",
    "filter",
    "orderby",
    "top",
    "skip",
    "count",
    "skiptoken",
];

/// System query options of OData (and Graph's `$deltatoken`) it does not serve.
const REFUSED: [&str; 9] = [
    "search",
    "apply",
    "compute",
    "format",
    "levels",
    "index",
    "schemaversion",
    "deltatoken",
    "id",
];

/// The options of one request (or of one `$expand` item), as given: the name as spelled and
/// the value.
#[derive(Default)]
struct Given<'p> {
    select: Option<(&'p str, &'p str)>,
    expand: Option<(&'p str, &'p str)>,
    filter: Option<(&'p str, &'p str)>,
    orderby: Option<(&'p str, &'p str)>,
    top: Option<(&'p str, &'p str)>,
    skip: Option<(&'p str, &'p str)>,
    count: Option<(&'p str, &'p str)>,
    skiptoken: Option<(&'p str, &'p str)>,
}

impl<'p> Given<'p> {
    fn slot(&mut self, canonical: &str) -> Option<&mut Option<(&'p str, &'p str)>> {
        Some(match canonical {
            "select" => &mut self.select,
            "expand" => &mut self.expand,
            "filter" => &mut self.filter,
            "orderby" => &mut self.orderby,
            "top" => &mut self.top,
            "skip" => &mut self.skip,
            "count" => &mut self.count,
            "skiptoken" => &mut self.skiptoken,
            _ => return None,
        })
    }

    /// Records one option (rule Q1): `$` required, names without regard to case, each once.
    /// `nested`: inside `$expand(…)`, where only the options of an artifact collection but
    /// `$skiptoken` are taken.
    fn take(
        &mut self,
        name: &'p str,
        value: &'p str,
        target: Target,
        nested: bool,
    ) -> Result<(), QueryError> {
        let Some(bare) = name.strip_prefix('$') else {
            let lower = name.to_ascii_lowercase();
            if SERVED.contains(&lower.as_str()) || REFUSED.contains(&lower.as_str()) {
                return Err(QueryError::new(
                    RuleId::Q1,
                    name,
                    format!(
                        "The query option '{name}' is written without '$': this service requires the '$' prefix on system query options (write '${lower}')."
                    ),
                ));
            }
            if nested {
                return Err(QueryError::new(
                    RuleId::Q3,
                    name,
                    format!("'{name}' is not a query option of an expanded collection."),
                ));
            }
            if name.starts_with('@') {
                return Err(QueryError::new(
                    RuleId::Q1,
                    name,
                    format!("Parameter aliases ('{name}') are not supported."),
                ));
            }
            // A custom query option: the service defines none, and leaves them alone.
            return Ok(());
        };
        let canonical = bare.to_ascii_lowercase();
        if value.len() > MAX_OPTION_BYTES {
            return Err(QueryError::new(
                RuleId::Q8,
                name,
                format!(
                    "The value of the query option '{name}' is longer than {MAX_OPTION_BYTES} bytes."
                ),
            ));
        }
        if REFUSED.contains(&canonical.as_str()) {
            return Err(QueryError::new(
                RuleId::Q1,
                name,
                format!(
                    "The query option '{name}' is not supported by this service (it supports $select, $expand, $filter, $orderby, $top, $skip, $count and $skiptoken)."
                ),
            ));
        }
        let Some(slot) = self.slot(&canonical) else {
            return Err(QueryError::new(
                RuleId::Q1,
                name,
                format!(
                    "'{name}' is not an OData system query option (custom query options must not start with '$')."
                ),
            ));
        };
        if let Some((first, _)) = slot {
            return Err(QueryError::new(
                RuleId::Q1,
                name,
                format!(
                    "The query option '{name}' is given more than once (as '{first}' and '{name}')."
                ),
            ));
        }
        *slot = Some((name, value));
        let collection_only = matches!(
            canonical.as_str(),
            "filter" | "orderby" | "top" | "skip" | "count" | "skiptoken"
        );
        if nested && matches!(canonical.as_str(), "expand" | "skiptoken") {
            return Err(QueryError::new(
                RuleId::Q3,
                name,
                format!(
                    "The query option '{name}' is not supported inside $expand (it takes $select, $filter, $orderby, $top, $skip and $count)."
                ),
            ));
        }
        if collection_only && !target.is_collection() {
            return Err(QueryError::new(
                RuleId::Q1,
                name,
                format!(
                    "The query option '{name}' applies to collections; a single restore session takes $select and $expand."
                ),
            ));
        }
        if canonical == "expand" && matches!(target, Target::Artifacts(_)) {
            return Err(QueryError::new(
                RuleId::Q3,
                name,
                "$expand is not supported on restore artifacts: their restorePoint is always written inline, as stored.",
            ));
        }
        Ok(())
    }
}

/// Rule Q1 and the rules of each option: the query of a request.
pub(crate) fn parse(
    target: Target,
    pairs: &[(String, String)],
    include_unknown: bool,
) -> Result<Query, QueryError> {
    let mut given = Given::default();
    for (name, value) in pairs {
        given.take(name, value, target, false)?;
    }
    build(target, &given, include_unknown)
}

/// The query of `given` options for `target`, each value read in a fixed order: `$select`,
/// `$expand`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`, `$skiptoken`.
fn build(target: Target, given: &Given<'_>, include_unknown: bool) -> Result<Query, QueryError> {
    let entity = target.entity();
    let select = match given.select {
        Some((name, value)) => select(entity, name, value)?,
        None => None,
    };
    let expand = match given.expand {
        Some((name, value)) => expand(entity, name, value, include_unknown)?,
        None => Vec::new(),
    };
    let mut reads = Reads::default();
    let filter = match given.filter {
        Some((name, value)) => Some(
            filter::parse(value, entity, &mut reads, include_unknown)
                .map_err(|e| filter_error(name, value, e))?,
        ),
        None => None,
    };
    let (keys, desc) = match given.orderby {
        Some((name, value)) => orderby(entity, name, value, &mut reads)?,
        None => (Vec::new(), Vec::new()),
    };
    let top = match given.top {
        Some((name, value)) => whole(value)
            .filter(|n| *n <= MAX_TOP as u64)
            .map(|n| n as usize)
            .ok_or_else(|| {
                QueryError::new(
                    RuleId::Q6,
                    name,
                    format!("Invalid value '{value}' for the query option '{name}': a whole number from 0 to {MAX_TOP}."),
                )
            })?,
        None if matches!(target, Target::Session(_)) => 1,
        None => DEFAULT_TOP,
    };
    let skip = match given.skip {
        Some((name, value)) => whole(value).ok_or_else(|| {
            QueryError::new(
                RuleId::Q6,
                name,
                format!("Invalid value '{value}' for the query option '{name}': a whole number from 0 on."),
            )
        })?,
        None => 0,
    };
    let count = match given.count {
        Some((name, value)) => {
            if value.eq_ignore_ascii_case("true") {
                true
            } else if value.eq_ignore_ascii_case("false") {
                false
            } else {
                return Err(QueryError::new(
                    RuleId::Q7,
                    name,
                    format!(
                        "Invalid value '{value}' for the query option '{name}': true or false."
                    ),
                ));
            }
        }
        None => false,
    };
    fn raw<'v>(o: Option<(&str, &'v str)>) -> &'v str {
        o.map_or("\u{1}absent", |(_, v)| v)
    }
    let tag = target.tag();
    let fingerprint = token::fnv1a(&[&tag, raw(given.filter), raw(given.orderby), raw(given.skip)]);
    let mut query = Query {
        target,
        select,
        expand,
        filter,
        keys,
        desc,
        reads,
        top,
        skip,
        count,
        token: None,
        fingerprint,
    };
    if let Some((name, value)) = given.skiptoken {
        let key_paths: Vec<schema::Path> = query
            .keys
            .iter()
            .filter_map(|i| query.reads.paths.get(*i).cloned())
            .collect();
        let natural = matches!(target, Target::Artifacts(_)) && query.keys.is_empty();
        let token = token::decode(value, fingerprint, &key_paths)
            .and_then(|t| match t {
                Token::After(..) if natural => Err("it is not a token of this query"),
                t => Ok(t),
            })
            .map_err(|why| {
                let shown: String = value.chars().take(64).collect();
                let more = if shown.len() < value.len() { "…" } else { "" };
                QueryError::new(
                    RuleId::Q6,
                    name,
                    format!("The query option '{name}' has a token this service can't continue from ('{shown}{more}'): {why}."),
                )
            })?;
        query.token = Some(token);
    }
    check_expanded(&query, given)?;
    Ok(query)
}

/// Rule Q8: the expanded collections of one page hold at most [`MAX_EXPANDED`] artifacts.
fn check_expanded(q: &Query, given: &Given<'_>) -> Result<(), QueryError> {
    let per_session = SessionKind::ALL
        .into_iter()
        .map(|k| {
            q.expand
                .iter()
                .filter(|e| e.collection.kind() == k)
                .map(|e| e.query.top)
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0);
    let total = per_session.saturating_mul(q.top);
    if total > MAX_EXPANDED {
        let name = given.expand.map_or("$expand", |(n, _)| n);
        return Err(QueryError::new(
            RuleId::Q8,
            name,
            format!(
                "The query asks for up to {total} expanded artifacts in one page ({} sessions, {per_session} artifacts each); at most {MAX_EXPANDED} are served: lower $top, or give each expanded collection its own $top (the default is {DEFAULT_TOP}).",
                q.top
            ),
        ));
    }
    Ok(())
}

/// A whole number: ASCII digits only (OData's `$top`/`$skip` are non-negative integers).
fn whole(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn filter_error(name: &str, value: &str, e: filter::FilterError) -> QueryError {
    let shown: String = value.chars().take(120).collect();
    let more = if shown.len() < value.len() { "…" } else { "" };
    let at =
        e.at.map(|at| format!(" at position {at} in '{shown}{more}'"))
            .unwrap_or_default();
    QueryError::new(
        e.rule,
        name,
        format!("Invalid filter clause: {}{at}.", e.message),
    )
}

/// Comma-separated items, each trimmed; commas inside parentheses or quotes do not separate.
fn items(value: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (i, b) in value.bytes().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            _ if b == sep && !quoted && depth == 0 => {
                out.push(value.get(start..i).unwrap_or_default().trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default().trim());
    out
}

/// Where the `(` at `open` is closed, quotes and nested parentheses considered.
fn closing(text: &str, open: usize) -> Option<usize> {
    let (mut depth, mut quoted) = (0usize, false);
    for (i, b) in text.bytes().enumerate().skip(open) {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

const SELECT_EXPAND: &str = "Parsing OData Select and Expand failed: ";

/// Rule Q2: `$select`, top-level properties of the target type or `*`.
fn select(
    entity: Entity,
    name: &str,
    value: &str,
) -> Result<Option<Vec<&'static str>>, QueryError> {
    let fail = |m: String| QueryError::new(RuleId::Q2, name, format!("{SELECT_EXPAND}{m}."));
    let mut chosen: Vec<&'static str> = Vec::new();
    let mut all = false;
    for item in items(value, b',') {
        if item.is_empty() {
            return Err(fail(format!("'{name}' has an empty item")));
        }
        if item == "*" {
            all = true;
            continue;
        }
        if item.contains(['/', '(', ')', '\'']) {
            return Err(fail(format!(
                "'{item}' is not a property name ($select takes top-level properties; paths, type casts and options are not supported)"
            )));
        }
        if let Some(p) = entity.prop(item) {
            if !chosen.contains(&p.name) {
                chosen.push(p.name);
            }
            continue;
        }
        if entity.collections().iter().any(|c| c.name() == item) || entity.is_other_navigation(item)
        {
            return Err(fail(format!(
                "'{item}' is a navigation property of '{}': expand it with $expand",
                entity.type_name()
            )));
        }
        return Err(fail(schema::not_found(item, entity.type_name(), || {
            entity.props().collect()
        })));
    }
    Ok((!all).then_some(chosen))
}

/// Rule Q3: `$expand`, artifact collections of the session type, with nested options.
fn expand(
    entity: Entity,
    name: &str,
    value: &str,
    include_unknown: bool,
) -> Result<Vec<Expand>, QueryError> {
    let fail =
        |rule: RuleId, m: String| QueryError::new(rule, name, format!("{SELECT_EXPAND}{m}."));
    let Entity::Session(own) = entity else {
        return Err(fail(RuleId::Q3, "$expand is not supported here".to_owned()));
    };
    let mut out: Vec<Expand> = Vec::new();
    for item in items(value, b',') {
        if item.is_empty() {
            return Err(fail(RuleId::Q3, format!("'{name}' has an empty item")));
        }
        let (path, options) = match item.find('(') {
            Some(open) => {
                let inner = (closing(item, open) == Some(item.len() - 1))
                    .then(|| item.get(open + 1..item.len() - 1))
                    .flatten()
                    .ok_or_else(|| {
                        fail(
                            RuleId::Q3,
                            format!(
                                "'{item}' has unbalanced parentheses or text after its options"
                            ),
                        )
                    })?;
                (item.get(..open).unwrap_or_default().trim(), Some(inner))
            }
            None => (item, None),
        };
        if path == "*" {
            return Err(fail(
                RuleId::Q3,
                "'*' is not supported in $expand: name the artifact collection to expand"
                    .to_owned(),
            ));
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.iter().any(|s| s.starts_with('$')) {
            return Err(fail(
                RuleId::Q3,
                format!(
                    "'{path}' is not supported ($ref, $count and $levels are not served in $expand)"
                ),
            ));
        }
        let (kind, prop) = match segments.as_slice() {
            [prop] => (own, *prop),
            [cast, prop] => {
                let kind = SessionKind::ALL
                    .into_iter()
                    .find(|k| type_name_matches(cast, k.odata_type()))
                    .filter(|k| own.is_none_or(|o| o == *k))
                    .ok_or_else(|| {
                        fail(
                            RuleId::Q3,
                            format!(
                                "'{cast}' is not a type derived from '{}'",
                                entity.type_name()
                            ),
                        )
                    })?;
                (Some(kind), *prop)
            }
            _ => {
                return Err(fail(
                    RuleId::Q3,
                    format!(
                        "'{path}' is not an artifact collection (only one level can be expanded)"
                    ),
                ));
            }
        };
        let collection = match kind {
            Some(k) => [k.standard(), k.granular()]
                .into_iter()
                .find(|c| c.name() == prop),
            None => None,
        };
        let Some(collection) = collection else {
            let owner = kind.map_or(entity.type_name(), |k| {
                k.odata_type().strip_prefix('#').unwrap_or(k.odata_type())
            });
            let hint = match (kind, ArtifactCollection::from_name(prop)) {
                (None, Some(c)) => format!(
                    " (it is a property of '{0}': write '{0}/{prop}')",
                    c.kind().odata_type().trim_start_matches('#')
                ),
                _ if entity.is_other_navigation(prop) => {
                    " (only the artifact collections are served)".to_owned()
                }
                _ if Entity::Session(kind).prop(prop).is_some() => {
                    " (it is a structural property: $select it)".to_owned()
                }
                _ => String::new(),
            };
            return Err(fail(
                RuleId::Q3,
                format!(
                    "Could not find a navigation property named '{prop}' on type '{owner}' that can be expanded{hint}"
                ),
            ));
        };
        if out.iter().any(|e| e.collection == collection) {
            return Err(fail(
                RuleId::Q3,
                format!(
                    "'{prop}' is expanded more than once (a path may appear in one expand item only)"
                ),
            ));
        }
        let target = Target::Artifacts(collection);
        let mut given = Given::default();
        if let Some(inner) = options {
            for option in items(inner, b';') {
                let Some((n, v)) = option.split_once('=') else {
                    return Err(fail(
                        RuleId::Q3,
                        format!("'{option}' in the options of '{path}' is not 'name=value'"),
                    ));
                };
                given.take(n.trim(), v.trim(), target, true)?;
            }
        }
        let query = build(target, &given, include_unknown)?;
        out.push(Expand { collection, query });
    }
    Ok(out)
}

/// Rule Q5: `$orderby`, up to [`MAX_ORDERBY`] primitive or enum paths, each `asc` or `desc`.
fn orderby(
    entity: Entity,
    name: &str,
    value: &str,
    reads: &mut Reads,
) -> Result<(Vec<usize>, Vec<bool>), QueryError> {
    let fail =
        |rule: RuleId, m: String| QueryError::new(rule, name, format!("Invalid {name}: {m}."));
    let list = items(value, b',');
    if list.len() > MAX_ORDERBY {
        return Err(fail(
            RuleId::Q8,
            format!(
                "it names {} properties; at most {MAX_ORDERBY} are served",
                list.len()
            ),
        ));
    }
    let (mut keys, mut desc) = (Vec::new(), Vec::new());
    for item in list {
        let mut words = item.split_whitespace();
        let (Some(path), direction, None) = (words.next(), words.next(), words.next()) else {
            return Err(fail(
                RuleId::Q5,
                format!("'{item}' is not 'property', 'property asc' or 'property desc'"),
            ));
        };
        let is_desc = match direction {
            None => false,
            Some(d) if d.eq_ignore_ascii_case("asc") => false,
            Some(d) if d.eq_ignore_ascii_case("desc") => true,
            Some(d) => {
                return Err(fail(RuleId::Q5, format!("'{d}' is neither asc nor desc")));
            }
        };
        let segments: Vec<&str> = path.split('/').collect();
        if segments
            .iter()
            .any(|s| s.contains(['.', '(', ')', '\'']) || s.is_empty())
        {
            return Err(fail(
                RuleId::Q5,
                format!(
                    "'{path}' is not a property path (expressions and type casts are not supported)"
                ),
            ));
        }
        let resolved = schema::resolve(entity, &segments).map_err(|m| fail(RuleId::Q5, m))?;
        if !resolved.ty.is_primitive() {
            return Err(fail(
                RuleId::Q5,
                format!(
                    "'{path}' is of type '{}': only primitive and enum properties can be ordered by",
                    resolved.ty.describe()
                ),
            ));
        }
        keys.push(reads.add(resolved));
        desc.push(is_desc);
    }
    Ok((keys, desc))
}
