//! One exchange as `check` judges it: where it came from, what it is judged from, its verdict
//! (shared by `check.rs`, which judges, and `report.rs`, which writes the reports).

use restore_delta::check::{Observed, Verdict};
use restore_delta::{Options, Session, Timestamp};
use serde_json::{Value, json};

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
    pub fn to_json(&self, verdict: &Verdict) -> Value {
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
            o.insert("verdict".into(), verdict.to_json());
        }
        v
    }
}

/// One exchange as judged.
pub struct Judged {
    pub exchange: Exchange,
    pub verdict: Verdict,
    /// The vector file of a non-conformant exchange, when --reproducers asks for it.
    pub reproducer: Option<String>,
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
