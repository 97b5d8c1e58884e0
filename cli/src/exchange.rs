//! One exchange as `check` judges it: where it came from, what it is judged from, its verdict
//! (shared by `check.rs`, which judges, and `report.rs`, which writes the reports).

use restore_delta::check::{Observed, Verdict};
use restore_delta::{Options, Session, Timestamp};
use serde_json::{Value, json};

use crate::live::Diff;

/// Where one judged exchange came from.
pub struct Exchange {
    /// 1-based, in the order judged.
    pub index: usize,
    /// The index in the capture's `log.entries`, with --har.
    pub entry: Option<usize>,
    pub method: String,
    /// The request URL, with --har.
    pub url: Option<String>,
    /// The --request file, without --har.
    pub request_file: Option<String>,
    /// The session's id.
    pub session: String,
}

impl Exchange {
    /// How reports name the exchange: `#2 PATCH <url>`, or the --request file.
    pub fn name(&self) -> String {
        match (&self.url, &self.request_file) {
            (Some(url), _) => format!("#{} {} {url}", self.index, self.method),
            (None, Some(file)) => format!("{} {file}", self.method),
            (None, None) => format!("#{} {}", self.index, self.method),
        }
    }

    /// The exchange and its verdict as JSON.
    pub fn to_json(&self, verdict: Value) -> Value {
        let mut v = json!({
            "index": self.index,
            "method": self.method,
            "session": self.session,
        });
        if let Some(o) = v.as_object_mut() {
            if let Some(e) = self.entry {
                o.insert("entry".into(), json!(e));
            }
            if let Some(u) = &self.url {
                o.insert("url".into(), json!(u));
            }
            if let Some(f) = &self.request_file {
                o.insert("request".into(), json!(f));
            }
            o.insert("verdict".into(), verdict);
        }
        v
    }
}

/// One exchange as judged.
pub struct Judged {
    pub exchange: Exchange,
    /// A PATCH's verdict (rules C1–C3).
    pub verdict: Option<Verdict>,
    /// Another exchange's differences (a create, a read, a delete: the lifecycle rules).
    pub lifecycle: Vec<Diff>,
    /// The vector file of a non-conformant exchange, when --reproducers asks for it.
    pub reproducer: Option<String>,
}

impl Judged {
    pub fn conformant(&self) -> bool {
        self.verdict.as_ref().is_none_or(|v| v.conformant) && self.lifecycle.is_empty()
    }

    pub fn tolerated(&self) -> &[restore_delta::check::Tolerated] {
        self.verdict
            .as_ref()
            .map_or(&[], |v| v.tolerated.as_slice())
    }

    /// The verdict for people: the check's, or `conformant` / `NOT conformant` and one line
    /// per difference.
    pub fn text(&self) -> String {
        if let Some(v) = &self.verdict {
            return v.to_string();
        }
        if self.lifecycle.is_empty() {
            return "conformant".into();
        }
        let mut t = format!("NOT conformant: {} difference(s)", self.lifecycle.len());
        let show = |v: &Option<Value>| v.as_ref().map_or("nothing".to_owned(), ToString::to_string);
        for d in &self.lifecycle {
            t.push_str(&format!(
                "\n  {} value [{}]: expected {}, observed {}",
                d.pointer,
                d.rule,
                show(&d.expected),
                show(&d.observed)
            ));
        }
        t
    }

    /// The verdict as JSON: the check's, or the same members for another exchange.
    pub fn verdict_json(&self) -> Value {
        match &self.verdict {
            Some(v) => v.to_json(),
            None => json!({
                "conformant": self.lifecycle.is_empty(),
                "differences": self.lifecycle.iter().map(|d| json!({
                    "pointer": d.pointer, "kind": "value", "expected": d.expected,
                    "observed": d.observed, "rule": d.rule,
                })).collect::<Vec<_>>(),
                "tolerated": [],
            }),
        }
    }
}

/// What one exchange is judged from.
pub struct Input<'a> {
    pub before: &'a Session,
    pub request: &'a [u8],
    /// The client's preferences (the Prefer values, then --atomic), for the reproducer.
    pub prefer: &'a [String],
    pub atomic: bool,
    pub options: &'a Options,
    pub observed: Observed<'a>,
}

/// The time the check answered with: the bound one, or, when the answer bound none, the clock
/// the check uses then (the Unix epoch).
pub fn bound_now(verdict: &Verdict) -> Result<Timestamp, String> {
    match verdict.binding.now {
        Some(t) => Ok(t),
        None => Timestamp::from_unix(0, 0).map_err(|e| e.to_string()),
    }
}
