//! Evolvable enumerations (rule S4): each keeps values it does not know.

use std::fmt;

macro_rules! evolvable_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// The value as Graph spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(s) => s,
                }
            }

            /// The member for `text`; an unknown value becomes `Other` (compared case-sensitively).
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

evolvable_enum! {
    /// `restoreSessionStatus`.
    SessionStatus {
        /// `draft`: the only status in which a session can be patched (rule E3).
        Draft => "draft",
        /// `activating`.
        Activating => "activating",
        /// `active`.
        Active => "active",
        /// `completedWithError`.
        CompletedWithError => "completedWithError",
        /// `completed`.
        Completed => "completed",
        /// `unknownFutureValue`.
        UnknownFutureValue => "unknownFutureValue",
        /// `failed`.
        Failed => "failed",
    }
}

evolvable_enum! {
    /// `restoreJobType`.
    RestoreJobType {
        /// `standard`.
        Standard => "standard",
        /// `bulk`: such sessions can't be patched (rule E3).
        Bulk => "bulk",
        /// `unknownFutureValue`.
        UnknownFutureValue => "unknownFutureValue",
        /// `granular`.
        Granular => "granular",
    }
}

evolvable_enum! {
    /// `destinationType` of a restore artifact.
    DestinationType {
        /// `new`: restore to a new location.
        New => "new",
        /// `inPlace`: restore over the original.
        InPlace => "inPlace",
        /// `unknownFutureValue`.
        UnknownFutureValue => "unknownFutureValue",
    }
}

evolvable_enum! {
    /// `artifactRestoreStatus`, the `status` of an artifact.
    ArtifactStatus {
        /// `added`: the status of every artifact a PATCH creates.
        Added => "added",
        /// `scheduling`.
        Scheduling => "scheduling",
        /// `scheduled`.
        Scheduled => "scheduled",
        /// `inProgress`.
        InProgress => "inProgress",
        /// `succeeded`.
        Succeeded => "succeeded",
        /// `failed`.
        Failed => "failed",
        /// `unknownFutureValue`.
        UnknownFutureValue => "unknownFutureValue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_survive() {
        assert_eq!(SessionStatus::parse("draft"), SessionStatus::Draft);
        let odd = SessionStatus::parse("someFutureValue");
        assert_eq!(odd, SessionStatus::Other("someFutureValue".into()));
        assert_eq!(odd.as_str(), "someFutureValue");
        assert_eq!(DestinationType::parse("inplace").as_str(), "inplace");
        assert_ne!(DestinationType::parse("inplace"), DestinationType::InPlace);
        assert_eq!(RestoreJobType::parse("bulk"), RestoreJobType::Bulk);
        assert_eq!(ArtifactStatus::parse("added").to_string(), "added");
    }
}
