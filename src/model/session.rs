//! The restore session: its modeled members, every other member verbatim, and its two artifact
//! collections (rules S1–S5).

use std::collections::BTreeSet;
use std::fmt;
use std::io;

use serde::de;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::json::{Cursor, READ_CHUNK, Str, check_strict, minify, position, write_str};
use crate::model::artifact::Artifact;
use crate::model::collection::Collection;
use crate::model::enums::{RestoreJobType, SessionStatus};
use crate::model::error::{StateError, invalid_json, read_failure};
use crate::model::kinds::{ArtifactCollection, Family, SessionKind};

/// A restore session with its artifact collections expanded.
///
/// Read it with [`Session::from_json`], write it with [`Session::to_json`] or through `serde`.
/// Members appear in the order they were read; members and enum values this crate does not
/// model are written back as they were read (insignificant white space aside), so reading a
/// state and writing it back loses nothing (rule S4).
///
/// ```
/// use restore_delta::{Session, SessionKind, SessionStatus};
/// let text = r##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession","id":"s1",
///               "status":"someFutureValue","x-custom":{"kept":[1,2]}}"##;
/// let session = Session::from_json(text.as_bytes()).unwrap();
/// assert_eq!(session.kind(), SessionKind::SharePoint);
/// assert_eq!(session.status(), &SessionStatus::Other("someFutureValue".into()));
/// assert_eq!(
///     session.to_json(),
///     r##"{"@odata.type":"#microsoft.graph.sharePointRestoreSession","id":"s1","status":"someFutureValue","x-custom":{"kept":[1,2]}}"##
/// );
/// ```
#[derive(Clone)]
pub struct Session {
    kind: SessionKind,
    id: String,
    status: SessionStatus,
    job_type: RestoreJobType,
    /// The bulk-addition requests of the session's kind are a non-empty array (rule E3).
    bulk_requests: bool,
    members: Vec<(String, Member)>,
    standard: Collection,
    granular: Collection,
}

#[derive(Clone, Debug)]
pub(crate) enum Member {
    Raw(Box<RawValue>),
    Collection(Family),
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("status", &self.status)
            .field("restore_job_type", &self.job_type)
            .field("standard", &self.standard.len())
            .field("granular", &self.granular.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Session {
    /// Two sessions are equal when they write the same JSON.
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

impl Session {
    /// Reads a state: one restore session as Graph JSON (rule S1).
    ///
    /// A state that is not an object, has no `id`, names no known kind or contradicts itself, or
    /// holds an invalid or duplicated artifact is a [`StateError`] (rule S3).
    pub fn from_json(bytes: &[u8]) -> Result<Session, StateError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = position(bytes, e.valid_up_to());
            StateError::InvalidJson {
                message: format!("not UTF-8: {e}"),
                line,
                column,
            }
        })?;
        Session::read(&mut Cursor::new(text))
    }

    /// Reads a state from `reader` as it is needed: the same session, or the same error, as
    /// [`Session::from_json`] on the bytes it gives, without holding them all at once. Besides
    /// the session it keeps the value being read and what was read past it (reads are of
    /// 64 KiB), so reading a state file this way needs about the memory of the session, where
    /// reading the file first and then calling [`Session::from_json`] needs the file's size
    /// more. When the length is known, [`Session::from_reader_sized`] also saves growing the
    /// session's buffers.
    ///
    /// Two differences from [`Session::from_json`], which has all the bytes before it begins:
    /// a failure of `reader` is [`StateError::Unreadable`]; and bytes that are not UTF-8 are
    /// found as they are read, so when a state has another problem before them, that problem
    /// may be the one reported.
    ///
    /// ```
    /// use restore_delta::Session;
    /// let text = r#"{"id":"s1","driveRestoreArtifacts":[{"id":"a1"}]}"#;
    /// let session = Session::from_reader(text.as_bytes()).unwrap();
    /// assert_eq!(session, Session::from_json(text.as_bytes()).unwrap());
    /// ```
    pub fn from_reader<R: io::Read>(reader: R) -> Result<Session, StateError> {
        Session::from_reader_by(reader, READ_CHUNK, 0)
    }

    /// [`Session::from_reader`] for a text of about `len` bytes, such as a file of that length:
    /// the session's buffers are sized for it up front, as [`Session::from_json`] sizes them,
    /// instead of growing as the text is read (each growth copies, and may leave the memory it
    /// left behind in use). Any other length is only less efficient: the result is the same.
    pub fn from_reader_sized<R: io::Read>(reader: R, len: u64) -> Result<Session, StateError> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        Session::from_reader_by(reader, READ_CHUNK, len)
    }

    /// [`Session::from_reader_sized`], reading at least `chunk` bytes at a time (small chunks
    /// cut values everywhere: see `fuzzing::state_bytes`).
    pub(crate) fn from_reader_by<R: io::Read>(
        mut reader: R,
        chunk: usize,
        len: usize,
    ) -> Result<Session, StateError> {
        let mut cur = Cursor::reading(&mut reader, chunk, len);
        let read = Session::read(&mut cur);
        // A failure to read ended the text early: whatever was made of it is not the state.
        match cur.failure() {
            Some(failure) => Err(read_failure(failure)),
            None => read,
        }
    }

    fn read(cur: &mut Cursor<'_>) -> Result<Session, StateError> {
        let syntax = invalid_json;
        if cur.peek() != Some(b'{') {
            return Err(match check_strict(cur.whole()) {
                Ok(()) => StateError::NotAnObject,
                Err(e) => {
                    let (line, column) = cur.position_in(0, e.line(), e.column());
                    StateError::InvalidJson {
                        message: e.to_string(),
                        line,
                        column,
                    }
                }
            });
        }
        cur.expect(b'{', "`{`").map_err(syntax)?;
        let mut parts = Parts::default();
        let mut seen = BTreeSet::new();
        if !cur.eat(b'}') {
            loop {
                if cur.peek() != Some(b'"') {
                    return Err(syntax(cur.error("a member name")));
                }
                let name = cur
                    .value_with::<Str<'_>, _>(|Str(name), _| name.into_owned())
                    .map_err(syntax)?;
                if !seen.insert(name.clone()) {
                    // At the name's closing quote.
                    let (line, column) = cur.position(cur.offset().saturating_sub(1));
                    return Err(StateError::InvalidJson {
                        message: format!("duplicate member name {name:?}"),
                        line,
                        column,
                    });
                }
                cur.expect(b':', "`:`").map_err(syntax)?;
                parts.member(name, cur)?;
                if cur.eat(b'}') {
                    break;
                }
                cur.expect(b',', "`,` or `}`").map_err(syntax)?;
            }
        }
        if cur.peek().is_some() {
            return Err(syntax(cur.error("the end of the state")));
        }
        parts.finish()
    }

    /// Writes the state as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.json_len_hint());
        // Writing to a String cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Writes the state as compact JSON to `w`: the same bytes as [`Session::to_json`], without
    /// building them in memory first.
    pub fn write_json<W: io::Write>(&self, w: &mut W) -> io::Result<()> {
        self.write_to(&mut IoSink(w))
    }

    fn json_len_hint(&self) -> usize {
        let members: usize = self
            .members
            .iter()
            .map(|(n, m)| {
                n.len()
                    + match m {
                        Member::Raw(raw) => raw.get().len(),
                        Member::Collection(_) => 0,
                    }
            })
            .sum();
        members + self.standard.text_len() + self.granular.text_len() + 64
    }

    fn write_to<S: Sink>(&self, out: &mut S) -> io::Result<()> {
        out.put("{")?;
        let mut key = String::new();
        for (i, (name, member)) in self.members.iter().enumerate() {
            key.clear();
            if i > 0 {
                key.push(',');
            }
            write_str(&mut key, name);
            key.push(':');
            out.put(&key)?;
            match member {
                Member::Raw(raw) => out.put(raw.get())?,
                Member::Collection(family) => {
                    out.put("[")?;
                    for (j, a) in self.collection(*family).iter().enumerate() {
                        if j > 0 {
                            out.put(",")?;
                        }
                        out.put(a.json_text())?;
                    }
                    out.put("]")?;
                }
            }
        }
        out.put("}")
    }

    /// The state as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The session kind.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The session `id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `status`; `draft` when the state has none (rule S5).
    pub fn status(&self) -> &SessionStatus {
        &self.status
    }

    /// `restoreJobType`; `standard` when the state has none (rule S5).
    pub fn restore_job_type(&self) -> &RestoreJobType {
        &self.job_type
    }

    /// The session without its artifacts: its members and modeled values, empty collections of
    /// the same kind. What a response body is rendered from when the request is answered
    /// without being committed (the reference check).
    pub(crate) fn shell(&self) -> Session {
        Session {
            kind: self.kind,
            id: self.id.clone(),
            status: self.status.clone(),
            job_type: self.job_type.clone(),
            bulk_requests: self.bulk_requests,
            members: self.members.clone(),
            standard: Collection::new(self.standard.which()),
            granular: Collection::new(self.granular.which()),
        }
    }

    /// Whether this is a bulk session, which a PATCH can't change (rule E3): `restoreJobType` is
    /// `bulk`, or the bulk-addition requests of its kind
    /// ([`SessionKind::bulk_addition_requests`]) are a non-empty array. A bulk session is created
    /// empty, so its `restoreJobType` may still read `standard`.
    pub fn is_bulk(&self) -> bool {
        self.bulk_requests || self.job_type == RestoreJobType::Bulk
    }

    /// The artifacts of a collection, in order. Empty for a collection of another kind.
    pub fn artifacts(
        &self,
        collection: ArtifactCollection,
    ) -> impl DoubleEndedIterator<Item = Artifact<'_>> {
        let c = self.collection(collection.family());
        (c.which() == collection)
            .then_some(c)
            .into_iter()
            .flat_map(Collection::iter)
    }

    /// The artifact of a collection with this id, found through the index.
    pub fn artifact(&self, collection: ArtifactCollection, id: &str) -> Option<Artifact<'_>> {
        let c = self.collection(collection.family());
        if c.which() != collection {
            return None;
        }
        c.seq_of(id).and_then(|seq| c.get(seq))
    }

    /// The number of artifacts in a collection (0 for a collection of another kind).
    pub fn artifact_count(&self, collection: ArtifactCollection) -> usize {
        let c = self.collection(collection.family());
        if c.which() == collection { c.len() } else { 0 }
    }

    /// A top-level member other than the artifact collections, as raw JSON.
    pub fn member(&self, name: &str) -> Option<&RawValue> {
        self.members.iter().find_map(|(n, m)| match m {
            Member::Raw(raw) if n == name => Some(&**raw),
            _ => None,
        })
    }

    pub(crate) fn collection(&self, family: Family) -> &Collection {
        match family {
            Family::Standard => &self.standard,
            Family::Granular => &self.granular,
        }
    }

    pub(crate) fn collection_mut(&mut self, family: Family) -> &mut Collection {
        match family {
            Family::Standard => &mut self.standard,
            Family::Granular => &mut self.granular,
        }
    }

    /// The top-level members in order; collections are markers.
    pub(crate) fn members(&self) -> &[(String, Member)] {
        &self.members
    }

    /// Sets a top-level member, in place if present, else at the end.
    pub(crate) fn set_member(&mut self, name: &str, value: Box<RawValue>) {
        match self.members.iter_mut().find(|(n, _)| n == name) {
            Some((_, m)) => *m = Member::Raw(value),
            None => self.members.push((name.to_owned(), Member::Raw(value))),
        }
    }

    /// Makes sure the collection of `family` is written, appending its member if absent.
    pub(crate) fn ensure_collection_member(&mut self, family: Family) {
        let name = self.kind.collection(family).name();
        if !self.members.iter().any(|(n, _)| n == name) {
            self.members
                .push((name.to_owned(), Member::Collection(family)));
        }
    }

    /// Sets `status`, as a member (in place if present, else at the end) and as the modeled value.
    pub(crate) fn set_status(&mut self, status: SessionStatus) {
        let mut text = String::new();
        write_str(&mut text, status.as_str());
        self.set_member("status", crate::json::to_raw(text));
        self.status = status;
    }

    pub(crate) fn set_job_type(&mut self, family: Family) {
        self.job_type = RestoreJobType::parse(family.job_type());
    }
}

/// A state as read so far, member by member.
#[derive(Default)]
struct Parts {
    odata_type: Option<(String, Option<SessionKind>)>,
    id: Option<String>,
    status: Option<SessionStatus>,
    job_type: Option<RestoreJobType>,
    /// Collections in state order; `None` for one that is not an array.
    collections: Vec<(ArtifactCollection, Option<Collection>)>,
    /// Bulk-addition request members, of any kind: their kind, and `Some(non-empty)` for an
    /// array, `None` for anything else.
    bulk: Vec<(SessionKind, Option<bool>)>,
    members: Vec<(String, Member)>,
}

impl Parts {
    /// Reads one member's value, the cursor after its `:`.
    fn member(&mut self, name: String, cur: &mut Cursor<'_>) -> Result<(), StateError> {
        let syntax = invalid_json;
        if let Some(which) = ArtifactCollection::from_name(&name) {
            if cur.peek() == Some(b'[') {
                self.collections
                    .push((which, Some(Collection::load(which, cur)?)));
                self.members
                    .push((name, Member::Collection(which.family())));
            } else {
                cur.value::<de::IgnoredAny>().map_err(syntax)?;
                self.collections.push((which, None));
            }
            return Ok(());
        }
        let raw: Box<RawValue> = cur.value().map_err(syntax)?;
        match name.as_str() {
            "@odata.type" => {
                let t = string_member(&name, &raw)?.ok_or_else(|| invalid(&name, "is null"))?;
                let kind = SessionKind::from_odata_type(&t);
                self.odata_type = Some((t, kind));
            }
            "id" => match string_member(&name, &raw)? {
                Some(s) if !s.is_empty() => self.id = Some(s),
                _ => return Err(StateError::MissingId),
            },
            "status" => self.status = string_member(&name, &raw)?.map(|s| SessionStatus::parse(&s)),
            "restoreJobType" => {
                self.job_type = string_member(&name, &raw)?.map(|s| RestoreJobType::parse(&s))
            }
            _ => {}
        }
        check_strict(raw.get()).map_err(|e| {
            // The value ends where the cursor is.
            let start = cur.offset().saturating_sub(raw.get().len());
            let (line, column) = cur.position_in(start, e.line(), e.column());
            StateError::InvalidJson {
                message: format!("member {name:?}: {e}"),
                line,
                column,
            }
        })?;
        let raw = minify(raw);
        if let Some(kind) = SessionKind::ALL
            .into_iter()
            .find(|k| k.bulk_addition_requests() == name)
        {
            let text = raw.get();
            let array = text.starts_with('[').then_some(text != "[]");
            self.bulk.push((kind, array));
        }
        self.members.push((name, Member::Raw(raw)));
        Ok(())
    }

    fn finish(mut self) -> Result<Session, StateError> {
        let id = self.id.ok_or(StateError::MissingId)?;
        self.collections.sort_by_key(|(which, _)| *which);
        let kind = match self.odata_type {
            Some((_, Some(kind))) => kind,
            Some((t, None)) => return Err(StateError::UnknownKind { odata_type: t }),
            None => self
                .collections
                .first()
                .map(|(which, _)| which.kind())
                .ok_or(StateError::UndeterminedKind)?,
        };
        // E3: the bulk-addition requests of this kind make a bulk session; another kind's are
        // a member like any other.
        let mut bulk_requests = false;
        for (of, array) in self.bulk {
            if of == kind {
                bulk_requests = array
                    .ok_or_else(|| invalid(kind.bulk_addition_requests(), "is not an array"))?;
            }
        }
        let mut standard = Collection::new(kind.standard());
        let mut granular = Collection::new(kind.granular());
        for (which, loaded) in self.collections {
            if which.kind() != kind {
                return Err(StateError::KindContradiction {
                    kind: kind.odata_type().to_owned(),
                    collection: which,
                });
            }
            let loaded = loaded.ok_or(StateError::CollectionNotArray { collection: which })?;
            match which.family() {
                Family::Standard => standard = loaded,
                Family::Granular => granular = loaded,
            }
        }
        Ok(Session {
            kind,
            id,
            status: self.status.unwrap_or(SessionStatus::Draft),
            job_type: self.job_type.unwrap_or(RestoreJobType::Standard),
            bulk_requests,
            members: self.members,
            standard,
            granular,
        })
    }
}

fn invalid(member: &str, reason: &str) -> StateError {
    StateError::InvalidMember {
        member: member.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A member that must be a string or `null`.
fn string_member(name: &str, raw: &RawValue) -> Result<Option<String>, StateError> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::String(s)) => Ok(Some(s)),
        Ok(Value::Null) => Ok(None),
        _ => Err(invalid(name, "is not a string")),
    }
}

impl Serialize for Artifact<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}

struct Items<'a>(&'a Collection);

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for a in self.0.iter() {
            seq.serialize_element(&a)?;
        }
        seq.end()
    }
}

/// Through serde, each artifact's text is checked again as it is handed to the serializer
/// (serde_json offers no unchecked raw value): [`Session::write_json`] and [`Session::to_json`]
/// write the same bytes several times faster.
impl Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.members.len()))?;
        for (name, member) in &self.members {
            match member {
                Member::Raw(raw) => map.serialize_entry(name, raw)?,
                Member::Collection(family) => {
                    map.serialize_entry(name, &Items(self.collection(*family)))?
                }
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Session {
    /// Reads a session through serde; a [`StateError`] becomes the deserializer's error.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Session::from_json(raw.get().as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// Where [`Session::write_to`] puts its text.
trait Sink {
    fn put(&mut self, text: &str) -> io::Result<()>;
}

impl Sink for String {
    fn put(&mut self, text: &str) -> io::Result<()> {
        self.push_str(text);
        Ok(())
    }
}

struct IoSink<'w, W: io::Write>(&'w mut W);

impl<W: io::Write> Sink for IoSink<'_, W> {
    fn put(&mut self, text: &str) -> io::Result<()> {
        self.0.write_all(text.as_bytes())
    }
}
