//! Typed ids of Identity Manager entities.
//!
//! Identity Manager ids are 64-bit signed integers (configuration items often have negative ids,
//! e.g. a resource type `"-41"` in a provisioning order, F18), and the API serialises them as JSON
//! strings (`"Id": "2147483653"` in the squery page's example, F13). Each id type accepts exactly
//! an optional `-` followed by ASCII digits that fit in an `i64`, as text or as a JSON string or
//! number; anything else (`+5`, ` 5`, `0x10`, `5.0`, an empty string) is refused, so nothing
//! unvalidated reaches a URL or a squery.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};

/// The most characters of a refused input kept in an [`IdError`].
const SHOWN: usize = 40;

/// A text that is not an Identity Manager id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a valid {kind} id: expected a whole number such as 1000")]
pub struct IdError {
    kind: &'static str,
    input: String,
}

impl IdError {
    fn new(kind: &'static str, input: &str) -> Self {
        let mut shown: String = input
            .chars()
            .take(SHOWN)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if input.chars().nth(SHOWN).is_some() {
            shown.push('…');
        }
        Self { kind, input: shown }
    }
}

fn parse_id(kind: &'static str, input: &str) -> Result<i64, IdError> {
    let digits = input.strip_prefix('-').unwrap_or(input);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::new(kind, input));
    }
    input.parse::<i64>().map_err(|_| IdError::new(kind, input))
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw id.
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The raw id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_id($kind, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IdVisitor($kind)).map(Self)
            }
        }
    };
}

id_type!(
    /// The id of an assigned resource type (a user's assignment to an external system), the
    /// executable's `--assigned-resource-type`, found in a provisioning order at
    /// `ProvisioningOrdersList > AssignedResourceTypeId`.
    AssignedResourceTypeId,
    "assigned resource type"
);

id_type!(
    /// The id of a resource type mapping, the executable's `--resource-type-mapping`; it equals
    /// the id of the mapping's resource type (`ProvisioningOrdersList > ResourceType > Id`).
    ResourceTypeMappingId,
    "resource type mapping"
);

id_type!(
    /// The id of a password reset settings set (`PasswordResetSettings`).
    PasswordResetSettingId,
    "password reset settings"
);

id_type!(
    /// The id of a resource type (the `RoleId` of an assigned resource type).
    ResourceTypeId,
    "resource type"
);

struct IdVisitor(&'static str);

impl Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} id (a 64-bit integer, as a number or a string)",
            self.0
        )
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(IdError::new(self.0, &v.to_string())))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        parse_id(self.0, v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_numbers_only() {
        #[rustfmt::skip]
        let table: &[(&str, Option<i64>)] = &[
            ("1000", Some(1000)),
            ("10", Some(10)),
            ("-41", Some(-41)),
            ("0", Some(0)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("", None),
            ("-", None),
            ("+5", None),
            (" 5", None),
            ("5 ", None),
            ("0x10", None),
            ("5.0", None),
            ("1e3", None),
            ("１２", None),
            ("10; drop", None),
        ];
        for &(input, want) in table {
            let got = input
                .parse::<AssignedResourceTypeId>()
                .ok()
                .map(|id| id.get());
            assert_eq!(got, want, "input {input:?}");
        }
    }

    #[test]
    fn error_names_the_kind_and_bounds_the_input() {
        let err = "abc".parse::<ResourceTypeMappingId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "'abc' is not a valid resource type mapping id: expected a whole number such as 1000"
        );
        let long = "x".repeat(500);
        let err = long
            .parse::<AssignedResourceTypeId>()
            .unwrap_err()
            .to_string();
        assert!(err.len() < 150, "{err}");
    }

    #[test]
    fn deserializes_strings_and_numbers() {
        let a: AssignedResourceTypeId = serde_json::from_str("\"1000\"").unwrap();
        let b: AssignedResourceTypeId = serde_json::from_str("1000").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "1000");
        assert!(serde_json::from_str::<AssignedResourceTypeId>("\"1 000\"").is_err());
        assert!(serde_json::from_str::<AssignedResourceTypeId>("1.5").is_err());
        assert!(serde_json::from_str::<AssignedResourceTypeId>("true").is_err());
        assert!(serde_json::from_str::<AssignedResourceTypeId>("18446744073709551615").is_err());
    }
}
