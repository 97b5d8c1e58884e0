//! The three session kinds and their six artifact collections (rules S1, S2).

use std::fmt;

/// The kind of a restore session, from its `@odata.type` (rule S2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SessionKind {
    /// `#microsoft.graph.oneDriveForBusinessRestoreSession`
    OneDriveForBusiness,
    /// `#microsoft.graph.sharePointRestoreSession`
    SharePoint,
    /// `#microsoft.graph.exchangeRestoreSession`
    Exchange,
}

impl SessionKind {
    /// Every kind.
    pub const ALL: [SessionKind; 3] = [
        SessionKind::OneDriveForBusiness,
        SessionKind::SharePoint,
        SessionKind::Exchange,
    ];

    /// The OData type name, as the schema spells it, with its `#`.
    pub fn odata_type(self) -> &'static str {
        match self {
            SessionKind::OneDriveForBusiness => {
                "#microsoft.graph.oneDriveForBusinessRestoreSession"
            }
            SessionKind::SharePoint => "#microsoft.graph.sharePointRestoreSession",
            SessionKind::Exchange => "#microsoft.graph.exchangeRestoreSession",
        }
    }

    /// The kind an `@odata.type` value names, compared without regard to case and with or
    /// without the leading `#`.
    pub fn from_odata_type(name: &str) -> Option<SessionKind> {
        SessionKind::ALL
            .into_iter()
            .find(|k| type_name_matches(name, k.odata_type()))
    }

    /// The standard collection of this kind.
    pub fn standard(self) -> ArtifactCollection {
        match self {
            SessionKind::OneDriveForBusiness => ArtifactCollection::DriveRestoreArtifacts,
            SessionKind::SharePoint => ArtifactCollection::SiteRestoreArtifacts,
            SessionKind::Exchange => ArtifactCollection::MailboxRestoreArtifacts,
        }
    }

    /// The granular collection of this kind.
    pub fn granular(self) -> ArtifactCollection {
        match self {
            SessionKind::OneDriveForBusiness => ArtifactCollection::GranularDriveRestoreArtifacts,
            SessionKind::SharePoint => ArtifactCollection::GranularSiteRestoreArtifacts,
            SessionKind::Exchange => ArtifactCollection::GranularMailboxRestoreArtifacts,
        }
    }

    /// The member that holds this kind's bulk-addition requests
    /// (`driveRestoreArtifactsBulkAdditionRequests`, `siteRestoreArtifactsBulkAdditionRequests`,
    /// `mailboxRestoreArtifactsBulkAdditionRequests`): a session where it is a non-empty array
    /// is a bulk session (rule E3).
    pub fn bulk_addition_requests(self) -> &'static str {
        match self {
            SessionKind::OneDriveForBusiness => "driveRestoreArtifactsBulkAdditionRequests",
            SessionKind::SharePoint => "siteRestoreArtifactsBulkAdditionRequests",
            SessionKind::Exchange => "mailboxRestoreArtifactsBulkAdditionRequests",
        }
    }

    /// The collection of this kind in `family`.
    pub fn collection(self, family: Family) -> ArtifactCollection {
        match family {
            Family::Standard => self.standard(),
            Family::Granular => self.granular(),
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.odata_type())
    }
}

/// Whether a collection holds standard (whole drive, site or mailbox) or granular artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Family {
    /// Drive, site and mailbox restore artifacts; `restoreJobType: "standard"`.
    Standard,
    /// Granular drive, site and mailbox restore artifacts; `restoreJobType: "granular"`.
    Granular,
}

impl Family {
    /// The other family.
    pub fn other(self) -> Family {
        match self {
            Family::Standard => Family::Granular,
            Family::Granular => Family::Standard,
        }
    }

    /// The `restoreJobType` a session of this family has.
    pub fn job_type(self) -> &'static str {
        match self {
            Family::Standard => "standard",
            Family::Granular => "granular",
        }
    }
}

/// One of the six artifact collections (containment navigation properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ArtifactCollection {
    /// `driveRestoreArtifacts` of a OneDrive for Business session.
    DriveRestoreArtifacts,
    /// `granularDriveRestoreArtifacts` of a OneDrive for Business session.
    GranularDriveRestoreArtifacts,
    /// `siteRestoreArtifacts` of a SharePoint session.
    SiteRestoreArtifacts,
    /// `granularSiteRestoreArtifacts` of a SharePoint session.
    GranularSiteRestoreArtifacts,
    /// `mailboxRestoreArtifacts` of an Exchange session.
    MailboxRestoreArtifacts,
    /// `granularMailboxRestoreArtifacts` of an Exchange session.
    GranularMailboxRestoreArtifacts,
}

/// How an addition to a collection is shaped and keyed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{restorePoint, destinationType}`; duplicate key: the restore point (rule A4).
    Standard,
    /// `{restorePoint, destinationType, searchResponseId}`; key: the pair (rule A6).
    GranularMailbox,
    /// `{browseSessionId, id|itemKey}`; the key is the artifact id (rules G1–G4).
    GranularItem,
}

impl ArtifactCollection {
    /// Every collection.
    pub const ALL: [ArtifactCollection; 6] = [
        ArtifactCollection::DriveRestoreArtifacts,
        ArtifactCollection::GranularDriveRestoreArtifacts,
        ArtifactCollection::SiteRestoreArtifacts,
        ArtifactCollection::GranularSiteRestoreArtifacts,
        ArtifactCollection::MailboxRestoreArtifacts,
        ArtifactCollection::GranularMailboxRestoreArtifacts,
    ];

    /// The property name, e.g. `driveRestoreArtifacts`.
    pub fn name(self) -> &'static str {
        match self {
            ArtifactCollection::DriveRestoreArtifacts => "driveRestoreArtifacts",
            ArtifactCollection::GranularDriveRestoreArtifacts => "granularDriveRestoreArtifacts",
            ArtifactCollection::SiteRestoreArtifacts => "siteRestoreArtifacts",
            ArtifactCollection::GranularSiteRestoreArtifacts => "granularSiteRestoreArtifacts",
            ArtifactCollection::MailboxRestoreArtifacts => "mailboxRestoreArtifacts",
            ArtifactCollection::GranularMailboxRestoreArtifacts => {
                "granularMailboxRestoreArtifacts"
            }
        }
    }

    /// The name of the delta member that edits it, e.g. `driveRestoreArtifacts@delta`.
    pub fn delta_name(self) -> &'static str {
        match self {
            ArtifactCollection::DriveRestoreArtifacts => "driveRestoreArtifacts@delta",
            ArtifactCollection::GranularDriveRestoreArtifacts => {
                "granularDriveRestoreArtifacts@delta"
            }
            ArtifactCollection::SiteRestoreArtifacts => "siteRestoreArtifacts@delta",
            ArtifactCollection::GranularSiteRestoreArtifacts => {
                "granularSiteRestoreArtifacts@delta"
            }
            ArtifactCollection::MailboxRestoreArtifacts => "mailboxRestoreArtifacts@delta",
            ArtifactCollection::GranularMailboxRestoreArtifacts => {
                "granularMailboxRestoreArtifacts@delta"
            }
        }
    }

    /// The OData type of its items, e.g. `#microsoft.graph.driveRestoreArtifact`.
    pub fn item_type(self) -> &'static str {
        match self {
            ArtifactCollection::DriveRestoreArtifacts => "#microsoft.graph.driveRestoreArtifact",
            ArtifactCollection::GranularDriveRestoreArtifacts => {
                "#microsoft.graph.granularDriveRestoreArtifact"
            }
            ArtifactCollection::SiteRestoreArtifacts => "#microsoft.graph.siteRestoreArtifact",
            ArtifactCollection::GranularSiteRestoreArtifacts => {
                "#microsoft.graph.granularSiteRestoreArtifact"
            }
            ArtifactCollection::MailboxRestoreArtifacts => {
                "#microsoft.graph.mailboxRestoreArtifact"
            }
            ArtifactCollection::GranularMailboxRestoreArtifacts => {
                "#microsoft.graph.granularMailboxRestoreArtifact"
            }
        }
    }

    /// The session kind that has this collection.
    pub fn kind(self) -> SessionKind {
        match self {
            ArtifactCollection::DriveRestoreArtifacts
            | ArtifactCollection::GranularDriveRestoreArtifacts => SessionKind::OneDriveForBusiness,
            ArtifactCollection::SiteRestoreArtifacts
            | ArtifactCollection::GranularSiteRestoreArtifacts => SessionKind::SharePoint,
            ArtifactCollection::MailboxRestoreArtifacts
            | ArtifactCollection::GranularMailboxRestoreArtifacts => SessionKind::Exchange,
        }
    }

    /// Standard or granular.
    pub fn family(self) -> Family {
        match self {
            ArtifactCollection::DriveRestoreArtifacts
            | ArtifactCollection::SiteRestoreArtifacts
            | ArtifactCollection::MailboxRestoreArtifacts => Family::Standard,
            _ => Family::Granular,
        }
    }

    /// The collection with this property name.
    pub fn from_name(name: &str) -> Option<ArtifactCollection> {
        ArtifactCollection::ALL
            .into_iter()
            .find(|c| c.name() == name)
    }

    /// The collection whose delta member has this name.
    pub fn from_delta_name(name: &str) -> Option<ArtifactCollection> {
        ArtifactCollection::ALL
            .into_iter()
            .find(|c| c.delta_name() == name)
    }

    pub(crate) fn shape(self) -> Shape {
        match self {
            ArtifactCollection::DriveRestoreArtifacts
            | ArtifactCollection::SiteRestoreArtifacts
            | ArtifactCollection::MailboxRestoreArtifacts => Shape::Standard,
            ArtifactCollection::GranularMailboxRestoreArtifacts => Shape::GranularMailbox,
            ArtifactCollection::GranularDriveRestoreArtifacts
            | ArtifactCollection::GranularSiteRestoreArtifacts => Shape::GranularItem,
        }
    }
}

impl fmt::Display for ArtifactCollection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether an `@odata.type` value names `canonical` (which has its `#`): case-insensitive, the
/// `#` optional (rule S2, E4, A1).
pub(crate) fn type_name_matches(name: &str, canonical: &str) -> bool {
    let bare = canonical.strip_prefix('#').unwrap_or(canonical);
    let given = name.strip_prefix('#').unwrap_or(name);
    given.eq_ignore_ascii_case(bare)
}
