//! Reading the restore-session PATCHes of a HAR 1.2 capture.
//!
//! The capture is parsed as it is read: each entry is read, kept if it is a restore-session
//! PATCH and dropped otherwise, so memory holds the kept exchanges and one entry at a time,
//! however many unrelated entries the capture has.

use std::fmt;
use std::io::BufReader;
use std::path::Path;

use restore_delta::SessionKind;
use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::common::{Usage, open};

/// The session collections a restore-session PATCH goes to, with the kind each holds (`None`:
/// any kind).
const COLLECTIONS: [(&str, Option<SessionKind>); 4] = [
    (
        "oneDriveForBusinessRestoreSessions",
        Some(SessionKind::OneDriveForBusiness),
    ),
    ("sharePointRestoreSessions", Some(SessionKind::SharePoint)),
    ("exchangeRestoreSessions", Some(SessionKind::Exchange)),
    ("restoreSessions", None),
];

/// What a kept exchange of a capture does to a restore session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `PATCH …/{set}/{id}`.
    Patch,
    /// `POST …/{set}`: a create.
    Create,
    /// `GET …/{set}/{id}`.
    Get,
    /// `GET …/{set}/{id}/{collection}` (a page).
    List(String),
    /// `DELETE …/{set}/{id}`.
    Delete,
    /// `POST …/{set}/{id}/activate`.
    Activate,
}

/// One restore-session exchange of the capture (a PATCH, or, in a capture that starts at a
/// session's creation, its create, reads, activation and delete).
#[derive(Debug)]
pub struct Patch {
    /// What it does.
    pub op: Op,
    /// The response's `Preference-Applied` header: `None` when the capture has no response
    /// headers at all, `Some(None)` when it has headers but not that one (absent).
    pub preference_applied: Option<Option<String>>,
    /// Its index in `log.entries`.
    pub entry: usize,
    pub method: String,
    pub url: String,
    /// The session collection the URL names, as the URL spells it.
    pub collection: String,
    /// The session id, percent-decoded.
    pub session: String,
    /// The values of the request's `Prefer` headers, in order.
    pub prefer: Vec<String>,
    /// The request body, cut one byte past the body limit (enough for rule E1).
    pub body: Vec<u8>,
    pub status: u16,
    /// The response body; `None` when the capture has no text for it.
    pub response: Option<Vec<u8>>,
}

/// The kind a set holds (`None` for `restoreSessions`, or a name not a set).
pub fn kind_of(set: &str) -> Option<SessionKind> {
    COLLECTIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(set))
        .and_then(|(_, k)| *k)
}

impl Patch {
    /// Whether the URL's collection can hold a session of this kind.
    pub fn kind_matches(&self, kind: SessionKind) -> bool {
        COLLECTIONS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&self.collection))
            .is_some_and(|(_, k)| k.is_none_or(|k| k == kind))
    }
}

/// The restore-session PATCHes of a capture, and how many entries it has.
pub struct Capture {
    pub patches: Vec<Patch>,
    pub entries: usize,
}

/// Reads a capture; `body_limit` bytes of each request body are kept, and a response body
/// larger than `observed_limit` is refused.
pub fn read(path: &Path, body_limit: usize, observed_limit: usize) -> Result<Capture, Usage> {
    let reader = BufReader::with_capacity(1 << 16, open(path)?);
    let har: Har = serde_json::from_reader(reader).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Io => return Usage::unreadable(path, &e),
            serde_json::error::Category::Data => "not a HAR 1.2 capture",
            _ => "not JSON",
        };
        Usage(format!("--har {}: {what}: {e}", path.display()))
    })?;
    let entries = har.log.entries;
    let mut patches = Vec::with_capacity(entries.kept.len());
    for (entry, request, response) in entries.kept {
        let at = |why: String| {
            Usage(format!(
                "--har {}: log.entries[{entry}] PATCH {}: {why}",
                path.display(),
                request.url
            ))
        };
        let Some((op, collection, session)) = classify(&request.method, &request.url) else {
            continue;
        };
        let Some(response) = response else {
            return Err(at("no response".into()));
        };
        let status = u16::try_from(response.status)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .ok_or_else(|| {
                at(format!(
                    "response status {} is not an HTTP status (no answer was captured)",
                    response.status
                ))
            })?;
        let content = response.content.unwrap_or_default();
        let body = match content.text {
            None => None,
            Some(t) if t.is_empty() => None,
            Some(t) => match content.encoding.as_deref() {
                None | Some("") => Some(t.into_bytes()),
                Some(e) if e.eq_ignore_ascii_case("base64") => Some(
                    base64(&t).ok_or_else(|| at("response content is not valid base64".into()))?,
                ),
                Some(e) => return Err(at(format!("response content encoding {e:?} unknown"))),
            },
        };
        if let Some(b) = &body
            && b.len() > observed_limit
        {
            return Err(at(format!(
                "the response body is larger than {observed_limit} bytes (raise \
                 --max-observed-bytes)"
            )));
        }
        let preference_applied = (!response.headers.is_empty()).then(|| {
            let values: Vec<&str> = response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("preference-applied"))
                .map(|h| h.value.as_str())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        });
        let prefer = request
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("prefer"))
            .map(|h| h.value.clone())
            .collect();
        let mut sent = request
            .post_data
            .and_then(|p| p.text)
            .unwrap_or_default()
            .into_bytes();
        sent.truncate(body_limit);
        patches.push(Patch {
            op,
            preference_applied,
            entry,
            method: request.method,
            url: request.url,
            collection,
            session,
            prefer,
            body: sent,
            status,
            response: body,
        });
    }
    Ok(Capture {
        patches,
        entries: entries.total,
    })
}

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    entries: Entries,
}

/// The entries that are PATCHes to a restore session (entry index, request, response); the
/// others are dropped as they are read.
struct Entries {
    kept: Vec<(usize, HarRequest, Option<HarResponse>)>,
    total: usize,
}

#[derive(Deserialize)]
struct Entry {
    request: HarRequest,
    response: Option<HarResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<Header>,
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct PostData {
    text: Option<String>,
}

#[derive(Deserialize)]
struct HarResponse {
    status: i64,
    content: Option<Content>,
    #[serde(default)]
    headers: Vec<Header>,
}

#[derive(Deserialize, Default)]
struct Content {
    text: Option<String>,
    encoding: Option<String>,
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Entries, D::Error> {
        struct Keep;
        impl<'de> Visitor<'de> for Keep {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of HAR entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                let mut kept = Vec::new();
                let mut total = 0;
                while let Some(e) = seq.next_element::<Entry>()? {
                    if classify(&e.request.method, &e.request.url).is_some() {
                        kept.push((total, e.request, e.response));
                    }
                    total += 1;
                }
                Ok(Entries { kept, total })
            }
        }
        d.deserialize_seq(Keep)
    }
}

/// What a request does to a restore session, the set its URL names and the session id
/// (empty for a create): `None` for anything else (lists of sessions, other services).
pub fn classify(method: &str, url: &str) -> Option<(Op, String, String)> {
    let is = |m: &str| method.eq_ignore_ascii_case(m);
    if let Some((set, id)) = session_url(url) {
        let op = if is("PATCH") {
            Op::Patch
        } else if is("GET") {
            Op::Get
        } else if is("DELETE") {
            Op::Delete
        } else {
            return None;
        };
        return Some((op, set, id));
    }
    // One segment more (…/{id}/activate, …/{id}/{collection}) or one less (…/{set}).
    let bare = url.split(['?', '#']).next().unwrap_or_default();
    let (head, last) = bare.rsplit_once('/')?;
    if let Some((set, id)) = session_url(head) {
        if is("POST") && (last == "activate" || last == "microsoft.graph.activate") {
            return Some((Op::Activate, set, id));
        }
        if is("GET") && restore_delta::ArtifactCollection::from_name(last).is_some() {
            return Some((Op::List(last.to_owned()), set, id));
        }
        return None;
    }
    if is("POST") {
        let probe = format!("{bare}/x");
        if let Some((set, _)) = session_url(&probe) {
            return Some((Op::Create, set, String::new()));
        }
    }
    None
}

/// For a restore-session URL, `…/{v1.0|beta}/solutions/backupRestore/{collection}/{id}` (any
/// scheme, host and path before; query and fragment ignored; the fixed segments compared
/// without regard to ASCII case, as Graph does), the collection and the percent-decoded id.
pub fn session_url(url: &str) -> Option<(String, String)> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let path = match url.split_once("://") {
        Some((_, rest)) => rest
            .find('/')
            .map_or("", |i| rest.get(i..).unwrap_or_default()),
        None => url,
    };
    let mut segments = path.rsplit('/');
    let id = segments.next()?;
    let collection = segments.next()?;
    let fixed = [segments.next()?, segments.next()?, segments.next()?];
    let version_ok = ["v1.0", "beta"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(fixed[2]));
    let known = COLLECTIONS
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(collection));
    if !(version_ok
        && fixed[0].eq_ignore_ascii_case("backupRestore")
        && fixed[1].eq_ignore_ascii_case("solutions")
        && known)
    {
        return None;
    }
    let id = percent_decode(id);
    (!id.is_empty()).then(|| (collection.to_owned(), id))
}

/// `%XX` decoded; a `%` not followed by two hex digits is kept as it is; bytes that are not
/// UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (RFC 4648 section 4), padding optional, white space ignored; `None` for
/// anything else.
fn base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let data = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    if data.len() % 4 == 1 || (data.len() != digits.len() && !digits.len().is_multiple_of(4)) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(bytes.get(1..chunk.len()).unwrap_or_default());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_urls_are_recognised() {
        let ok = |u: &str, c: &str, id: &str| {
            assert_eq!(session_url(u), Some((c.to_owned(), id.to_owned())), "{u}");
        };
        ok(
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/oneDriveForBusinessRestoreSessions/s1",
            "oneDriveForBusinessRestoreSessions",
            "s1",
        );
        ok(
            "https://graph.microsoft.com/beta/solutions/backupRestore/restoreSessions/a%20b%2Fc?$select=id#x",
            "restoreSessions",
            "a b/c",
        );
        ok(
            "http://127.0.0.1:8080/mock/v1.0/solutions/backuprestore/exchangeRestoreSessions/e%zz",
            "exchangeRestoreSessions",
            "e%zz",
        );
        ok(
            "/v1.0/solutions/backupRestore/sharePointRestoreSessions/p",
            "sharePointRestoreSessions",
            "p",
        );
        for bad in [
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/oneDriveForBusinessRestoreSessions/",
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/oneDriveForBusinessRestoreSessions",
            "https://graph.microsoft.com/v2.0/solutions/backupRestore/restoreSessions/s1",
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/protectionPolicies/s1",
            "https://graph.microsoft.com/v1.0/solutions/backupRestore/restoreSessions/s1/activate",
            "https://graph.microsoft.com/v1.0/me",
            "",
        ] {
            assert_eq!(session_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_decodes_and_refuses() {
        assert_eq!(base64("eyJhIjoxfQ==").as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(base64("eyJhIjox\r\nfQ").as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(base64("").as_deref(), Some(&b""[..]));
        assert_eq!(base64("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(base64("TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64("TQ==").as_deref(), Some(&b"M"[..]));
        for bad in ["T", "TWF*", "TW=u", "TWE=A", "TQ=", "é"] {
            assert_eq!(base64(bad), None, "{bad}");
        }
    }
}
