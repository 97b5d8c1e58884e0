//! One stored artifact, kept as the JSON it was read from (rule S4), and the few facts the rules
//! read from it (rules A4, A5, A6, G3).

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::json::{Names, Str, Strict};
use crate::model::enums::{ArtifactStatus, DestinationType};
use crate::model::kinds::{ArtifactCollection, Shape};

/// A restore artifact as stored in a session: a view into the session.
///
/// The artifact is kept as the JSON object it was read from (insignificant white space removed),
/// so members and values this crate does not model survive untouched. [`Artifact::id`] and
/// [`Artifact::json_text`] are free; the other accessors read the JSON on demand, at a cost
/// proportional to the artifact's size.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Artifact<'a> {
    id: &'a str,
    json: &'a str,
}

impl fmt::Debug for Artifact<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json)
    }
}

impl<'a> Artifact<'a> {
    pub(crate) fn new(id: &'a str, json: &'a str) -> Self {
        Artifact { id, json }
    }

    /// The artifact's `id` (for granular drive and site artifacts, the item key).
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// The artifact as compact JSON text.
    pub fn json_text(&self) -> &'a str {
        self.json
    }

    /// The artifact as a raw JSON value (checked again on each call: prefer
    /// [`Artifact::json_text`] on hot paths).
    pub fn json(&self) -> &'a RawValue {
        serde_json::from_str(self.json).unwrap_or(RawValue::NULL)
    }

    /// The artifact as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json).unwrap_or(Value::Null)
    }

    /// The value of one member, if present.
    pub fn member(&self, name: &str) -> Option<Value> {
        let mut map: serde_json::Map<String, Value> = serde_json::from_str(self.json).ok()?;
        map.remove(name)
    }

    /// `restorePoint.id` (or `restorePoint["@odata.id"]`), for standard and mailbox artifacts.
    pub fn restore_point_id(&self) -> Option<String> {
        let fields = read_fields(self.json).ok()?;
        fields.restore_point.map(|s| s.0.into_owned())
    }

    /// `destinationType`, for standard and mailbox artifacts.
    pub fn destination_type(&self) -> Option<DestinationType> {
        let fields = read_fields(self.json).ok()?;
        fields
            .destination_type
            .map(|s| DestinationType::parse(&s.0))
    }

    /// `searchResponseId`, for granular mailbox artifacts.
    pub fn search_response_id(&self) -> Option<String> {
        let fields = read_fields(self.json).ok()?;
        fields.search_response_id.map(|s| s.0.into_owned())
    }

    /// `browseSessionId`, for granular drive and site artifacts.
    pub fn browse_session_id(&self) -> Option<String> {
        match self.member("browseSessionId") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// `status`; a value this crate does not know is kept as [`ArtifactStatus::Other`].
    pub fn status(&self) -> Option<ArtifactStatus> {
        match self.member("status") {
            Some(Value::String(s)) => Some(ArtifactStatus::parse(&s)),
            _ => None,
        }
    }
}

/// What the rules read from a stored artifact, borrowed from its JSON where it can be.
#[derive(Debug)]
pub(crate) struct FactsRef<'a> {
    pub(crate) id: Cow<'a, str>,
    shape: Shape,
    restore_point: Option<Cow<'a, str>>,
    search_response_id: Option<Cow<'a, str>>,
    pub(crate) destination: Option<Cow<'a, str>>,
}

impl FactsRef<'_> {
    /// The parts of the duplicate key, borrowed: `(restore point, searchResponseId)`.
    pub(crate) fn key_parts(&self) -> Option<(&str, Option<&str>)> {
        let rp = self.restore_point.as_deref()?;
        match self.shape {
            Shape::Standard => Some((rp, None)),
            Shape::GranularMailbox => Some((rp, Some(self.search_response_id.as_deref()?))),
            Shape::GranularItem => None,
        }
    }
}

/// Reads the facts the rules need from a stored artifact of `collection`, checking on the way
/// that it is an object with a non-empty string `id` and read one way only (rule S3).
pub(crate) fn facts(collection: ArtifactCollection, json: &str) -> Result<FactsRef<'_>, String> {
    let fields = read_fields(json).map_err(|e| e.to_string())?;
    facts_from(collection, fields)
}

/// [`facts`] from members already read.
pub(crate) fn facts_from(
    collection: ArtifactCollection,
    fields: Fields<'_>,
) -> Result<FactsRef<'_>, String> {
    let id = match fields.id {
        Some(Str(id)) if !id.is_empty() => id,
        Some(_) => return Err("has an empty `id`".to_owned()),
        None => return Err("has no `id`".to_owned()),
    };
    let shape = collection.shape();
    let destination = match shape {
        Shape::GranularItem => None,
        _ => fields.destination_type.map(|d| d.0),
    };
    Ok(FactsRef {
        id,
        shape,
        restore_point: fields.restore_point.map(|s| s.0),
        search_response_id: fields.search_response_id.map(|s| s.0),
        destination,
    })
}

/// The members of a stored artifact the rules read; reading it checks the whole artifact
/// strictly (see [`read_fields`]).
#[derive(Default)]
pub(crate) struct Fields<'a> {
    id: Option<Str<'a>>,
    restore_point: Option<Str<'a>>,
    destination_type: Option<Str<'a>>,
    search_response_id: Option<Str<'a>>,
}

/// Reads the members the rules need from an artifact's JSON in one pass, checking on the way
/// that no object in it repeats a member name and that its strings are Unicode (rule S3).
fn read_fields(json: &str) -> Result<Fields<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = de.deserialize_any(FieldsVisitor)?;
    de.end()?;
    Ok(fields)
}

impl crate::json::Parse for Fields<'_> {
    type Value<'t> = Fields<'t>;
}

struct FieldsVisitor;

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldsVisitor)
    }
}

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut names = Names::default();
        let mut f = Fields::default();
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            match name.as_ref() {
                "id" => f.id = map.next_value()?,
                "restorePoint" => f.restore_point = map.next_value_seed(RestorePointSeed)?,
                "destinationType" => f.destination_type = map.next_value()?,
                "searchResponseId" => f.search_response_id = map.next_value()?,
                _ => map.next_value_seed(Strict)?,
            }
            names.insert(name)?;
        }
        Ok(f)
    }
}

/// `restorePoint`: `null`, or an object whose `id` (else `@odata.id`) names the restore point.
struct RestorePointSeed;

impl<'de> DeserializeSeed<'de> for RestorePointSeed {
    type Value = Option<Str<'de>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RestorePointSeed {
    type Value = Option<Str<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or a restore point object")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut names = Names::default();
        let (mut id, mut odata_id): (Option<Str<'de>>, Option<Str<'de>>) = (None, None);
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            match name.as_ref() {
                "id" => id = map.next_value()?,
                "@odata.id" => odata_id = map.next_value()?,
                _ => map.next_value_seed(Strict)?,
            }
            names.insert(name)?;
        }
        Ok(id.or(odata_id))
    }
}
