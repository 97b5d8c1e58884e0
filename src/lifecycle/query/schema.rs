//! The properties the query options can name, with their types, as Graph's v1.0 metadata
//! declares them for `restoreSessionBase` and the artifact types (rules Q2, Q4, Q5), and the
//! four evolvable enumerations with their member values (rule Q9).

use crate::model::kinds::{ArtifactCollection, SessionKind};

/// An enumeration a property can have, with its members and their values as the schema lists
/// them (`unknownFutureValue` is the sentinel; members after it are "late", rule O7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum EnumType {
    /// `microsoft.graph.restoreSessionStatus`.
    SessionStatus,
    /// `microsoft.graph.restoreJobType`.
    RestoreJobType,
    /// `microsoft.graph.destinationType`.
    DestinationType,
    /// `microsoft.graph.artifactRestoreStatus`.
    ArtifactStatus,
}

/// The rank of a stored value no member of the schema has (rule S4 keeps such values): after
/// every member, then by its text.
pub(crate) const UNKNOWN_RANK: u32 = u32::MAX;

impl EnumType {
    /// The qualified name, as a qualified enum literal or a message writes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EnumType::SessionStatus => "microsoft.graph.restoreSessionStatus",
            EnumType::RestoreJobType => "microsoft.graph.restoreJobType",
            EnumType::DestinationType => "microsoft.graph.destinationType",
            EnumType::ArtifactStatus => "microsoft.graph.artifactRestoreStatus",
        }
    }

    /// Members and values, in schema order.
    pub(crate) fn members(self) -> &'static [(&'static str, u32)] {
        match self {
            EnumType::SessionStatus => &[
                ("draft", 0),
                ("activating", 1),
                ("active", 2),
                ("completedWithError", 3),
                ("completed", 4),
                ("unknownFutureValue", 5),
                ("failed", 6),
            ],
            EnumType::RestoreJobType => &[
                ("standard", 0),
                ("bulk", 1),
                ("unknownFutureValue", 2),
                ("granular", 3),
            ],
            EnumType::DestinationType => &[("new", 0), ("inPlace", 1), ("unknownFutureValue", 2)],
            EnumType::ArtifactStatus => &[
                ("added", 0),
                ("scheduling", 1),
                ("scheduled", 2),
                ("inProgress", 3),
                ("succeeded", 4),
                ("failed", 5),
                ("unknownFutureValue", 6),
            ],
        }
    }

    /// The value of `unknownFutureValue`.
    pub(crate) fn sentinel(self) -> u32 {
        self.rank("unknownFutureValue").unwrap_or(UNKNOWN_RANK)
    }

    /// The value of a member, compared case-sensitively as the schema spells it.
    pub(crate) fn rank(self, member: &str) -> Option<u32> {
        self.members()
            .iter()
            .find(|(name, _)| *name == member)
            .map(|(_, v)| *v)
    }

    /// The rank a stored value sorts and compares by: its member's value, or [`UNKNOWN_RANK`].
    pub(crate) fn rank_of_stored(self, value: &str) -> u32 {
        self.rank(value).unwrap_or(UNKNOWN_RANK)
    }
}

/// A complex (or inline navigation) type whose properties a path can go into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Complex {
    IdentitySet,
    Identity,
    PublicError,
    InnerError,
    ArtifactCount,
    RestorePoint,
}

impl Complex {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Complex::IdentitySet => "microsoft.graph.identitySet",
            Complex::Identity => "microsoft.graph.identity",
            Complex::PublicError => "microsoft.graph.publicError",
            Complex::InnerError => "microsoft.graph.publicInnerError",
            Complex::ArtifactCount => "microsoft.graph.restoreSessionArtifactCount",
            Complex::RestorePoint => "microsoft.graph.restorePoint",
        }
    }

    fn props(self) -> &'static [Prop] {
        match self {
            Complex::IdentitySet => IDENTITY_SET,
            Complex::Identity => IDENTITY,
            Complex::PublicError => PUBLIC_ERROR,
            Complex::InnerError => INNER_ERROR,
            Complex::ArtifactCount => ARTIFACT_COUNT,
            // Only the key is stored inline (rule A2); the entity's other properties are not
            // known here.
            Complex::RestorePoint => RESTORE_POINT,
        }
    }
}

const IDENTITY_SET: &[Prop] = &[
    prop("application", Ty::Complex(Complex::Identity)),
    prop("device", Ty::Complex(Complex::Identity)),
    prop("user", Ty::Complex(Complex::Identity)),
];
const IDENTITY: &[Prop] = &[prop("displayName", Ty::String), prop("id", Ty::String)];
const PUBLIC_ERROR: &[Prop] = &[
    prop("code", Ty::String),
    prop("details", Ty::Collection),
    prop("innerError", Ty::Complex(Complex::InnerError)),
    prop("message", Ty::String),
    prop("target", Ty::String),
];
const INNER_ERROR: &[Prop] = &[
    prop("code", Ty::String),
    prop("details", Ty::Collection),
    prop("message", Ty::String),
    prop("target", Ty::String),
];
const ARTIFACT_COUNT: &[Prop] = &[
    prop("completed", Ty::Int32),
    prop("failed", Ty::Int32),
    prop("inProgress", Ty::Int32),
    prop("total", Ty::Int32),
];
const RESTORE_POINT: &[Prop] = &[prop("id", Ty::String)];
const GRANULAR_DRIVE_EXTRA: &[Prop] = &[prop("directoryObjectId", Ty::String)];
const GRANULAR_SITE_EXTRA: &[Prop] = &[prop("siteId", Ty::String)];

/// A property's type, as far as the query options care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ty {
    String,
    Int32,
    DateTime,
    Enum(EnumType),
    Complex(Complex),
    /// A collection of complex values (`error/details`): neither comparable nor orderable.
    Collection,
}

impl Ty {
    /// Whether values of the type compare and order (primitive and enum types).
    pub(crate) fn is_primitive(self) -> bool {
        matches!(self, Ty::String | Ty::Int32 | Ty::DateTime | Ty::Enum(_))
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Ty::String => "Edm.String",
            Ty::Int32 => "Edm.Int32",
            Ty::DateTime => "Edm.DateTimeOffset",
            Ty::Enum(e) => e.name(),
            Ty::Complex(c) => c.name(),
            Ty::Collection => "a collection",
        }
    }
}

/// A declared property.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prop {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
}

const fn prop(name: &'static str, ty: Ty) -> Prop {
    Prop { name, ty }
}

/// The entity type a query is about: a session (of one kind, or the base type) or the artifacts
/// of one collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Entity {
    Session(Option<SessionKind>),
    Artifact(ArtifactCollection),
}

const SESSION: &[Prop] = &[
    prop("id", Ty::String),
    prop("completedDateTime", Ty::DateTime),
    prop("createdBy", Ty::Complex(Complex::IdentitySet)),
    prop("createdDateTime", Ty::DateTime),
    prop("error", Ty::Complex(Complex::PublicError)),
    prop("lastModifiedBy", Ty::Complex(Complex::IdentitySet)),
    prop("lastModifiedDateTime", Ty::DateTime),
    prop("restoreJobType", Ty::Enum(EnumType::RestoreJobType)),
    prop(
        "restoreSessionArtifactCount",
        Ty::Complex(Complex::ArtifactCount),
    ),
    prop("status", Ty::Enum(EnumType::SessionStatus)),
];

/// `restoreArtifactBase`, plus `createdDateTime`, which the crate writes on every standard
/// addition (rule A7, as the update pages' responses show) though the schema does not declare it.
const ARTIFACT_BASE: &[Prop] = &[
    prop("id", Ty::String),
    prop("completionDateTime", Ty::DateTime),
    prop("createdDateTime", Ty::DateTime),
    prop("destinationType", Ty::Enum(EnumType::DestinationType)),
    prop("error", Ty::Complex(Complex::PublicError)),
    prop("restorePoint", Ty::Complex(Complex::RestorePoint)),
    prop("startDateTime", Ty::DateTime),
    prop("status", Ty::Enum(EnumType::ArtifactStatus)),
];

const SITE_EXTRA: &[Prop] = &[
    prop("restoredSiteId", Ty::String),
    prop("restoredSiteName", Ty::String),
    prop("restoredSiteWebUrl", Ty::String),
];

const MAILBOX_EXTRA: &[Prop] = &[
    prop("restoredFolderId", Ty::String),
    prop("restoredFolderName", Ty::String),
    prop("restoredItemCount", Ty::Int32),
];

const GRANULAR_MAILBOX_EXTRA: &[Prop] = &[
    prop("artifactCount", Ty::Int32),
    prop("searchResponseId", Ty::String),
];

const GRANULAR_BASE: &[Prop] = &[
    prop("id", Ty::String),
    prop("browseSessionId", Ty::String),
    prop("completionDateTime", Ty::DateTime),
    prop("restoredItemKey", Ty::String),
    prop("restoredItemPath", Ty::String),
    prop("restoredItemWebUrl", Ty::String),
    prop("restorePointDateTime", Ty::DateTime),
    prop("startDateTime", Ty::DateTime),
    prop("status", Ty::Enum(EnumType::ArtifactStatus)),
    prop("webUrl", Ty::String),
];

impl Entity {
    /// The type name messages give, as Graph's messages do (`microsoft.graph.…`).
    pub(crate) fn type_name(self) -> &'static str {
        let with_hash = match self {
            Entity::Session(None) => "#microsoft.graph.restoreSessionBase",
            Entity::Session(Some(kind)) => kind.odata_type(),
            Entity::Artifact(c) => c.item_type(),
        };
        with_hash.strip_prefix('#').unwrap_or(with_hash)
    }

    /// The declared structural properties (and `restorePoint`, stored inline), in groups.
    fn groups(self) -> [&'static [Prop]; 3] {
        match self {
            Entity::Session(_) => [SESSION, &[], &[]],
            Entity::Artifact(c) => match c {
                ArtifactCollection::DriveRestoreArtifacts
                | ArtifactCollection::SiteRestoreArtifacts => [ARTIFACT_BASE, SITE_EXTRA, &[]],
                ArtifactCollection::MailboxRestoreArtifacts => [ARTIFACT_BASE, MAILBOX_EXTRA, &[]],
                ArtifactCollection::GranularMailboxRestoreArtifacts => {
                    [ARTIFACT_BASE, MAILBOX_EXTRA, GRANULAR_MAILBOX_EXTRA]
                }
                ArtifactCollection::GranularDriveRestoreArtifacts => {
                    [GRANULAR_BASE, GRANULAR_DRIVE_EXTRA, &[]]
                }
                ArtifactCollection::GranularSiteRestoreArtifacts => {
                    [GRANULAR_BASE, GRANULAR_SITE_EXTRA, &[]]
                }
            },
        }
    }

    /// The property `name` of this type (compared case-sensitively).
    pub(crate) fn prop(self, name: &str) -> Option<Prop> {
        self.groups()
            .into_iter()
            .flatten()
            .find(|p| p.name == name)
            .copied()
    }

    /// Every declared property name, for messages.
    pub(crate) fn props(self) -> impl Iterator<Item = &'static str> {
        self.groups().into_iter().flatten().map(|p| p.name)
    }

    /// The artifact collections of this session type (none for an artifact type; both of each
    /// kind for the base type, reached through a type cast).
    pub(crate) fn collections(self) -> Vec<ArtifactCollection> {
        match self {
            Entity::Session(Some(kind)) => vec![kind.standard(), kind.granular()],
            Entity::Session(None) => ArtifactCollection::ALL.to_vec(),
            Entity::Artifact(_) => Vec::new(),
        }
    }

    /// The navigation properties of the type that are not stored as artifact collections
    /// (`…BulkAdditionRequests`), for messages.
    pub(crate) fn is_other_navigation(self, name: &str) -> bool {
        match self {
            Entity::Session(kind) => SessionKind::ALL
                .into_iter()
                .filter(|k| kind.is_none_or(|own| own == *k))
                .any(|k| k.bulk_addition_requests() == name),
            Entity::Artifact(_) => false,
        }
    }
}

/// The property of `complex` called `name`.
fn complex_prop(complex: Complex, name: &str) -> Option<Prop> {
    complex.props().iter().find(|p| p.name == name).copied()
}

/// A resolved property path: its segments as the schema spells them, and the type of its end.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Path {
    pub(crate) segments: Vec<&'static str>,
    pub(crate) ty: Ty,
}

impl Path {
    /// The path as written, `a/b`.
    pub(crate) fn text(&self) -> String {
        self.segments.join("/")
    }

    pub(crate) fn is_id(&self) -> bool {
        self.segments.as_slice() == ["id"]
    }
}

/// Resolves `a/b/c` (already split) against `entity`; the error is the message's core,
/// Graph's "Could not find a property named …" wording.
pub(crate) fn resolve(entity: Entity, segments: &[&str]) -> Result<Path, String> {
    let mut out = Vec::with_capacity(segments.len());
    let mut ty: Option<Ty> = None;
    for (i, seg) in segments.iter().enumerate() {
        let (found, owner) = match ty {
            None => (entity.prop(seg), entity.type_name()),
            Some(Ty::Complex(c)) => (complex_prop(c, seg), c.name()),
            Some(other) => {
                return Err(format!(
                    "'{}' is of type '{}', which has no property '{seg}'",
                    segments.get(..i).unwrap_or_default().join("/"),
                    other.describe()
                ));
            }
        };
        let Some(p) = found else {
            return Err(not_found(seg, owner, || {
                let names: Vec<&str> = match ty {
                    None => entity.props().collect(),
                    Some(Ty::Complex(c)) => c.props().iter().map(|p| p.name).collect(),
                    Some(_) => Vec::new(),
                };
                names
            }));
        };
        out.push(p.name);
        ty = Some(p.ty);
    }
    match ty {
        Some(ty) => Ok(Path { segments: out, ty }),
        None => Err("an empty property path".to_owned()),
    }
}

/// "Could not find a property named 'x' on type 'T'." with a suggestion when only the case
/// differs.
pub(crate) fn not_found(
    name: &str,
    owner: &str,
    names: impl FnOnce() -> Vec<&'static str>,
) -> String {
    let mut m = format!("Could not find a property named '{name}' on type '{owner}'");
    if let Some(close) = names().into_iter().find(|n| n.eq_ignore_ascii_case(name)) {
        m.push_str(&format!(" (property names are case-sensitive: '{close}')"));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_through_complex_types() {
        let s = Entity::Session(None);
        let p = resolve(s, &["restoreSessionArtifactCount", "total"]).unwrap();
        assert_eq!(
            (p.text(), p.ty),
            ("restoreSessionArtifactCount/total".to_owned(), Ty::Int32)
        );
        let p = resolve(s, &["createdBy", "user", "displayName"]).unwrap();
        assert_eq!(p.ty, Ty::String);
        assert!(resolve(s, &["status", "x"]).is_err());
        let e = resolve(s, &["Status"]).unwrap_err();
        assert!(e.contains("'status'"), "{e}");
        let a = Entity::Artifact(ArtifactCollection::DriveRestoreArtifacts);
        assert_eq!(resolve(a, &["restorePoint", "id"]).unwrap().ty, Ty::String);
        assert!(resolve(a, &["restoredFolderId"]).is_err());
        let g = Entity::Artifact(ArtifactCollection::GranularMailboxRestoreArtifacts);
        assert_eq!(resolve(g, &["artifactCount"]).unwrap().ty, Ty::Int32);
    }

    #[test]
    fn enum_members_and_the_sentinel() {
        assert_eq!(EnumType::SessionStatus.sentinel(), 5);
        assert_eq!(EnumType::SessionStatus.rank("failed"), Some(6));
        assert_eq!(EnumType::RestoreJobType.rank("granular"), Some(3));
        assert_eq!(EnumType::ArtifactStatus.sentinel(), 6);
        assert_eq!(EnumType::DestinationType.rank_of_stored("x"), UNKNOWN_RANK);
    }
}
