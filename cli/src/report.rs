//! The files `check` writes beside its output: JUnit XML, a JSON array of verdicts, and a
//! reproducer (a vector file, docs/VECTORS.md) for each non-conformant exchange.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use restore_delta::check::{Settings, Verdict};
use restore_delta::{Context, ItemOutcome, SeededIds, apply};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::common::Usage;
use crate::exchange::{Exchange, Input, Judged, bound_now};

/// A `--report KIND=FILE`.
pub struct Report {
    kind: Kind,
    path: PathBuf,
}

enum Kind {
    Junit,
    Json,
}

impl FromStr for Report {
    type Err = String;
    fn from_str(s: &str) -> Result<Report, String> {
        let bad = || format!("--report {s}: expected junit=FILE or json=FILE");
        let (kind, path) = s.split_once('=').ok_or_else(bad)?;
        let kind = match kind {
            "junit" => Kind::Junit,
            "json" => Kind::Json,
            _ => return Err(bad()),
        };
        if path.is_empty() {
            return Err(bad());
        }
        Ok(Report {
            kind,
            path: PathBuf::from(path),
        })
    }
}

impl Report {
    pub fn write(&self, judged: &[Judged]) -> Result<(), Usage> {
        let text = match self.kind {
            Kind::Junit => junit(judged),
            Kind::Json => {
                let all: Vec<Value> = judged
                    .iter()
                    .map(|j| j.exchange.to_json(j.verdict_json()))
                    .collect();
                let mut t = Value::Array(all).to_string();
                t.push('\n');
                t
            }
        };
        write_file(&self.path, &text)
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Usage> {
    std::fs::write(path, text).map_err(|e| Usage(format!("can't write {}: {e}", path.display())))
}

/// One JUnit XML document: a test suite with one test case per exchange, a `<failure>` holding
/// the differences for each non-conformant one, the tolerated differences in `<system-out>`.
pub fn junit(judged: &[Judged]) -> String {
    let failures = judged.iter().filter(|j| !j.conformant()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let head = format!(
        "name=\"restore-delta check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\"",
        judged.len()
    );
    let _ = writeln!(x, "<testsuites {head}>");
    let _ = writeln!(x, "  <testsuite {head} skipped=\"0\">");
    for j in judged {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&format!("restore-delta.session.{}", j.exchange.session)),
            escape(&j.exchange.name())
        );
        if j.conformant() && j.tolerated().is_empty() {
            x.push_str("/>\n");
            continue;
        }
        x.push_str(">\n");
        if !j.conformant() {
            let text = j.text();
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            let _ = writeln!(
                x,
                "      <failure type=\"not conformant\" message=\"{}\">{}</failure>",
                escape(first),
                escape(rest)
            );
        }
        if !j.tolerated().is_empty() {
            let mut lines = String::new();
            for t in j.tolerated() {
                let d = &t.difference;
                let _ = writeln!(
                    lines,
                    "tolerated: {} {} [{}]: {}",
                    d.pointer,
                    d.kind.as_str(),
                    d.rule.map_or("-", |r| r.as_str()),
                    t.reason
                );
            }
            let _ = writeln!(x, "      <system-out>{}</system-out>", escape(&lines));
        }
        x.push_str("    </testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Text for XML content and attribute values: the five markup characters as entities; a
/// character XML 1.0 does not allow (controls other than tab, line feed and carriage return;
/// U+FFFE, U+FFFF) written as the text `\u{…}`, since not even a character reference may name
/// it.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A reproducer: a vector file (docs/VECTORS.md) with a member `observed` beside `expected`.
#[derive(Serialize)]
struct Reproducer {
    description: String,
    rules: Vec<String>,
    state: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_hex: Option<String>,
    options: Map<String, Value>,
    now: String,
    seed: u64,
    expected: Value,
    observed: Value,
}

/// The reproducer of a non-conformant exchange, as the text of its file.
///
/// `expected` is the reference answer with the time the check bound (the Unix epoch when it
/// bound none), the identity it bound, and the ids of seed 0: the server's own ids are not
/// something any seed reproduces, and a vector's `expected` is what `apply` with its `now` and
/// `seed` gives, byte for byte. `restore-delta check` binds the server's ids again when the
/// `observed` answer is judged against the file's inputs.
pub fn reproducer(
    exchange: &Exchange,
    input: &Input<'_>,
    verdict: &Verdict,
    settings: &Settings,
) -> String {
    let now = match bound_now(verdict) {
        Ok(t) => t,
        Err(e) => return format!("{{\"error\": {}}}\n", json!(e)),
    };
    let mut ctx = Context::new(now, SeededIds::new(0));
    if let Some(actor) = &verdict.binding.actor {
        ctx = ctx.with_actor(actor);
    }
    let applied = apply(input.before.clone(), input.request, input.options, &mut ctx);
    let mut expected = json!({"status": applied.answer.response.status});
    if let (Some(o), Some(p)) = (
        expected.as_object_mut(),
        &applied.answer.response.preference_applied,
    ) {
        o.insert("preference_applied".into(), json!(p));
    }
    if let Some(o) = expected.as_object_mut() {
        o.insert(
            "body".into(),
            applied.answer.response.body_value().unwrap_or(Value::Null),
        );
        o.insert("state".into(), applied.state.to_value());
    }

    let mut rules: Vec<String> = Vec::new();
    for d in &verdict.differences {
        if let Some(r) = d.rule.map(|r| r.as_str().to_owned())
            && !rules.contains(&r)
        {
            rules.push(r);
        }
    }
    let (request, request_hex) = match std::str::from_utf8(input.request) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (None, Some(hex(input.request))),
    };
    let v = Reproducer {
        description: describe(exchange, verdict, settings, &applied.answer.outcomes),
        rules,
        state: input.before.to_value(),
        request,
        request_hex,
        options: vector_options(input, verdict),
        now: now.to_string(),
        seed: 0,
        expected,
        observed: observed(input),
    };
    let mut text = serde_json::to_string_pretty(&v)
        .unwrap_or_else(|e| format!("{{\"error\": {}}}", json!(e.to_string())));
    text.push('\n');
    text
}

fn describe(
    exchange: &Exchange,
    verdict: &Verdict,
    settings: &Settings,
    outcomes: &[ItemOutcome],
) -> String {
    let mut s = format!(
        "Reproducer written by `restore-delta check` (profile {}) for {} on session {:?}: {} \
         difference(s)",
        settings.profile.as_str(),
        exchange.name(),
        exchange.session,
        verdict.differences.len()
    );
    if let Some(d) = verdict.differences.first() {
        let _ = write!(
            s,
            ", the first at {} ({}, rule {})",
            d.pointer,
            d.kind.as_str(),
            d.rule.map_or("-", |r| r.as_str())
        );
    }
    s.push_str(
        ". `observed` is what the server answered; `expected` is the reference answer with the \
         bound time and identity and the ids of seed 0 (the server's ids are bound again by \
         `restore-delta check`). Expected by the rules: ",
    );
    let _ = write!(s, "{}", verdict.expected.status);
    for (i, o) in outcomes.iter().enumerate() {
        let what = match o {
            ItemOutcome::Added { .. } => "added".to_owned(),
            ItemOutcome::Removed { .. } => "removed".to_owned(),
            ItemOutcome::Failed(f) => format!("fails {} {}", f.status, f.code),
            ItemOutcome::NotApplied => "not applied".to_owned(),
            _ => "decided".to_owned(),
        };
        let _ = write!(s, "; item {} {what} ({})", i + 1, o.rule());
    }
    s.push('.');
    s
}

/// The vector `options` of an exchange: only what differs from the defaults.
fn vector_options(input: &Input<'_>, verdict: &Verdict) -> Map<String, Value> {
    let prefer = input.prefer.join(", ");
    restore_delta::generate::options_object(
        (!prefer.is_empty()).then_some(prefer.as_str()),
        input.atomic,
        input.options,
        verdict.binding.actor.as_ref(),
    )
}

/// The observed answer: `status`, `body` (JSON, or `null` for none; `body_text` instead when it
/// is not JSON), and `state` (or `state_text`) when the state after was observed.
fn observed(input: &Input<'_>) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), json!(input.observed.status));
    let mut put = |name: &str, bytes: Option<&[u8]>| match bytes {
        None => {}
        Some(b) => match serde_json::from_slice::<Value>(b) {
            Ok(v) => {
                m.insert(name.to_owned(), v);
            }
            Err(_) => {
                m.insert(format!("{name}_text"), json!(String::from_utf8_lossy(b)));
            }
        },
    };
    put("body", input.observed.body);
    put("state", input.observed.state_after);
    if input.observed.body.is_none() {
        m.insert("body".into(), Value::Null);
    }
    Value::Object(m)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Writes each reproducer into `dir` (created if need be) as `NNN-<session id>.json`.
pub fn write_reproducers(dir: &Path, judged: &[Judged]) -> Result<(), Usage> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Usage(format!("--reproducers {}: {e}", dir.display())))?;
    for j in judged {
        if let Some(text) = &j.reproducer {
            let safe: String = j
                .exchange
                .session
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(64)
                .collect();
            write_file(
                &dir.join(format!("{:03}-{safe}.json", j.exchange.index)),
                text,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_writes_markup_as_entities_and_forbidden_characters_as_text() {
        assert_eq!(
            escape("a<b>&\"c'\t\n\r"),
            "a&lt;b&gt;&amp;&quot;c&apos;\t\n\r"
        );
        // The check's placeholder ids start with U+0001; XML 1.0 allows no reference to it.
        assert_eq!(escape("\u{1}unbound-1"), "\\u{1}unbound-1");
        assert_eq!(
            escape("\u{1f}\u{fffe}\u{ffff}é"),
            "\\u{1f}\\u{fffe}\\u{ffff}é"
        );
    }
}
