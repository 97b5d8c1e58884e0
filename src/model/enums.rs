//! Evolvable enumerations (rule S4): each keeps values it does not know, and knows which of its
//! members come after the `unknownFutureValue` sentinel (rule O7).

use std::fmt;

macro_rules! evolvable_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
        after_sentinel: [ $( $late:ident ),* ]
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
            /// The members this version of the crate knows, as Graph spells them, in the
            /// schema's order (the `unknownFutureValue` sentinel among them).
            pub const MEMBERS: &'static [&'static str] = &[ $( $text ),+ ];

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

            /// Whether the value comes after the `unknownFutureValue` sentinel of the schema:
            /// a member added after it, or a value this crate does not know (new members are
            /// always added after the sentinel). Graph sends such values only to clients that
            /// asked with `Prefer: include-unknown-enum-members` (rule O7).
            pub fn is_after_sentinel(&self) -> bool {
                matches!(self, $name::Other(_) $( | $name::$late )*)
            }

            /// The value as a response writes it (rule O7): as stored when
            /// `include_unknown_members` or when it comes before the sentinel, else
            /// `unknownFutureValue`.
            pub fn response_str(&self, include_unknown_members: bool) -> &str {
                if include_unknown_members || !self.is_after_sentinel() {
                    self.as_str()
                } else {
                    "unknownFutureValue"
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
    after_sentinel: [Failed]
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
    after_sentinel: [Granular]
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
    after_sentinel: []
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
    after_sentinel: []
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

    #[test]
    fn members_after_the_sentinel_as_the_schema_lists_them() {
        let late = |s: &str| SessionStatus::parse(s).is_after_sentinel();
        assert!(late("failed") && late("someFutureValue"));
        for early in [
            "draft",
            "activating",
            "active",
            "completedWithError",
            "completed",
        ] {
            assert!(!late(early), "{early}");
        }
        assert!(!late("unknownFutureValue"));
        let late = |s: &str| RestoreJobType::parse(s).is_after_sentinel();
        assert!(late("granular") && late("Standard"));
        assert!(!late("standard") && !late("bulk") && !late("unknownFutureValue"));
        assert!(!DestinationType::parse("inPlace").is_after_sentinel());
        assert!(DestinationType::parse("elsewhere").is_after_sentinel());
        assert!(!ArtifactStatus::parse("failed").is_after_sentinel());
        assert!(ArtifactStatus::parse("cancelled").is_after_sentinel());
        assert_eq!(
            RestoreJobType::Granular.response_str(false),
            "unknownFutureValue"
        );
        assert_eq!(RestoreJobType::Granular.response_str(true), "granular");
        assert_eq!(SessionStatus::Draft.response_str(false), "draft");
    }
}
