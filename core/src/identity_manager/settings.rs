//! `PasswordResetSettings` and the resource type mapping that points at them.
//!
//! Attributes, defaults and meanings: `PasswordResetSettings` page
//! (`docs/identitymanager/6.2/integration-guide/toolkit/xml-configuration/connectors/passwordresetsettings/index.md`, F4).
//! The mapping's link is its `PasswordResetSetting` attribute (resource type mappings pages,
//! F5). Wire names are the XML attribute names; the API returning them under these names, the
//! link as `PasswordResetSettingId` and the bindings as path strings are inferences (the docs
//! type bindings as `Int64`, i.e. stored as binding ids, and publish no schema, F22).

use secrecy::SecretString;
use serde::Deserialize;

use super::binding::Binding;
use super::ids::{PasswordResetSettingId, ResourceTypeMappingId};

/// The password reset service mode (`Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordResetMode {
    /// `0`: the password reset service is disabled (the documented default).
    Disabled,
    /// `1`: One-Way, the notification carries the password.
    OneWay,
    /// `2`: Two-Way, the notification carries a link where the user sets the password.
    TwoWay,
}

impl PasswordResetMode {
    fn from_wire(mode: i64) -> Option<Self> {
        match mode {
            0 => Some(Self::Disabled),
            1 => Some(Self::OneWay),
            2 => Some(Self::TwoWay),
            _ => None,
        }
    }
}

/// A binding attribute as read: absent, or a path that may or may not parse.
#[derive(Debug, Clone)]
pub enum BindingAttribute {
    /// The attribute is not set.
    Absent,
    /// The attribute holds a valid path.
    Valid(Binding),
    /// The attribute holds a path that does not parse (kept, so the error can show it).
    Invalid(String, super::binding::BindingError),
}

impl BindingAttribute {
    fn from_wire(path: Option<String>) -> Self {
        match path.as_deref().map(str::trim) {
            // Surrounding whitespace of the attribute value is not part of the path.
            None | Some("") => Self::Absent,
            Some(path) => match Binding::parse(path) {
                Ok(binding) => Self::Valid(binding),
                Err(error) => Self::Invalid(crate::http::excerpt(path), error),
            },
        }
    }

    /// The binding, when set and valid.
    pub fn binding(&self) -> Option<&Binding> {
        match self {
            Self::Valid(binding) => Some(binding),
            _ => None,
        }
    }

    /// Whether the attribute is set at all.
    pub fn is_set(&self) -> bool {
        !matches!(self, Self::Absent)
    }
}

/// A set of `PasswordResetSettings`, every documented attribute.
///
/// `Debug` never shows `DefaultPassword` (it is a [`SecretString`]); Passdesk never needs it and
/// does not ask for it, but keeps it secret if a server sends it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PasswordResetSettings {
    /// The database id.
    pub id: PasswordResetSettingId,
    /// `Identifier`.
    pub identifier: String,
    /// `AutoGenerate` (default false).
    pub auto_generate: bool,
    /// `DefaultPassword`: never logged.
    pub default_password: Option<SecretString>,
    /// `MustChange` (default false).
    pub must_change: bool,
    /// `Mode` (default 0, disabled).
    pub mode: PasswordResetMode,
    /// `DisableNotifications` (default false).
    pub disable_notifications: bool,
    /// `NotificationCC`: an address copied on every notification.
    pub notification_cc: Option<String>,
    /// `BeneficiaryEmailBinding`.
    pub beneficiary_email_binding: BindingAttribute,
    /// `BeneficiaryFullNameBinding`: needed "for the notification to make sense" (F1).
    pub beneficiary_full_name_binding: BindingAttribute,
    /// `NotifiedEmailBinding`: needed for any mail to be sent (F1).
    pub notified_email_binding: BindingAttribute,
    /// `NotifiedFullNameBinding`.
    pub notified_full_name_binding: BindingAttribute,
    /// `GeneratedLength` (default 12).
    pub generated_length: u32,
    /// `GeneratedLowerCaseCharsCount` (default 6).
    pub generated_lower_case_chars_count: u32,
    /// `GeneratedUpperCaseCharsCount` (default 2).
    pub generated_upper_case_chars_count: u32,
    /// `GeneratedDigitCharsCount` (default 2).
    pub generated_digit_chars_count: u32,
    /// `GeneratedSymbolCharsCount` (default 2).
    pub generated_symbol_chars_count: u32,
    /// `StrengthCheck`: the regexes a generated password must match, as written.
    pub strength_check: Option<String>,
}

/// The attributes asked for in the settings query. `DefaultPassword` is left out on purpose.
pub(crate) const SETTINGS_FIELDS: &[&str] = &[
    "Id",
    "Identifier",
    "AutoGenerate",
    "MustChange",
    "Mode",
    "DisableNotifications",
    "NotificationCC",
    "BeneficiaryEmailBinding",
    "BeneficiaryFullNameBinding",
    "NotifiedEmailBinding",
    "NotifiedFullNameBinding",
    "GeneratedLength",
    "GeneratedLowerCaseCharsCount",
    "GeneratedUpperCaseCharsCount",
    "GeneratedDigitCharsCount",
    "GeneratedSymbolCharsCount",
    "StrengthCheck",
];

/// The mapping attributes asked for.
pub(crate) const MAPPING_FIELDS: &[&str] = &["Id", "Identifier", "PasswordResetSettingId"];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireSettings {
    id: PasswordResetSettingId,
    identifier: Option<String>,
    auto_generate: Option<bool>,
    default_password: Option<String>,
    must_change: Option<bool>,
    mode: Option<WireInt>,
    disable_notifications: Option<bool>,
    #[serde(rename = "NotificationCC")]
    notification_cc: Option<String>,
    beneficiary_email_binding: Option<String>,
    beneficiary_full_name_binding: Option<String>,
    notified_email_binding: Option<String>,
    notified_full_name_binding: Option<String>,
    generated_length: Option<WireInt>,
    generated_lower_case_chars_count: Option<WireInt>,
    generated_upper_case_chars_count: Option<WireInt>,
    generated_digit_chars_count: Option<WireInt>,
    generated_symbol_chars_count: Option<WireInt>,
    strength_check: Option<String>,
}

/// An integer the API may send as a number or a string.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum WireInt {
    Number(i64),
    Text(#[serde(deserialize_with = "int_text")] i64),
}

fn int_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().map_err(serde::de::Error::custom)
}

impl WireInt {
    fn get(self) -> i64 {
        match self {
            Self::Number(n) | Self::Text(n) => n,
        }
    }
}

fn count(value: Option<WireInt>, default: u32) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(v) => u32::try_from(v.get()).map_err(|_| format!("negative count {}", v.get())),
    }
}

impl WireSettings {
    /// Converts, applying the documented defaults.
    pub(crate) fn into_settings(self) -> Result<PasswordResetSettings, String> {
        let mode = match self.mode {
            None => PasswordResetMode::Disabled,
            Some(m) => PasswordResetMode::from_wire(m.get())
                .ok_or_else(|| format!("unknown password reset Mode {}", m.get()))?,
        };
        Ok(PasswordResetSettings {
            id: self.id,
            identifier: self
                .identifier
                .as_deref()
                .map(crate::http::excerpt)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("#{}", self.id)),
            auto_generate: self.auto_generate.unwrap_or(false),
            default_password: self.default_password.map(SecretString::from),
            must_change: self.must_change.unwrap_or(false),
            mode,
            disable_notifications: self.disable_notifications.unwrap_or(false),
            notification_cc: self
                .notification_cc
                .map(|cc| cc.trim().to_owned())
                .filter(|cc| !cc.is_empty()),
            beneficiary_email_binding: BindingAttribute::from_wire(self.beneficiary_email_binding),
            beneficiary_full_name_binding: BindingAttribute::from_wire(
                self.beneficiary_full_name_binding,
            ),
            notified_email_binding: BindingAttribute::from_wire(self.notified_email_binding),
            notified_full_name_binding: BindingAttribute::from_wire(
                self.notified_full_name_binding,
            ),
            generated_length: count(self.generated_length, 12)?,
            generated_lower_case_chars_count: count(self.generated_lower_case_chars_count, 6)?,
            generated_upper_case_chars_count: count(self.generated_upper_case_chars_count, 2)?,
            generated_digit_chars_count: count(self.generated_digit_chars_count, 2)?,
            generated_symbol_chars_count: count(self.generated_symbol_chars_count, 2)?,
            strength_check: self.strength_check.filter(|s| !s.is_empty()),
        })
    }
}

/// A resource type mapping as far as notifications go.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WireMapping {
    pub(crate) id: ResourceTypeMappingId,
    pub(crate) identifier: Option<String>,
    pub(crate) password_reset_setting_id: Option<PasswordResetSettingId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_reads_with_defaults() {
        // The documented XML example (F4), as the API answers it (ids as strings).
        let wire: WireSettings = serde_json::from_value(serde_json::json!({
            "Id": "5",
            "Identifier": "default",
            "BeneficiaryEmailBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.Mail",
            "BeneficiaryFullNameBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName",
            "NotifiedEmailBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail",
            "NotifiedFullNameBinding": "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.InternalDisplayName",
            "Mode": 1,
            "DefaultPassword": "Usercube@2019",
            "MustChange": true,
            "AutoGenerate": false,
            "DisableNotifications": false,
            "GeneratedLength": "12"
        }))
        .unwrap();
        let s = wire.into_settings().unwrap();
        assert_eq!(s.identifier, "default");
        assert_eq!(s.mode, PasswordResetMode::OneWay);
        assert!(s.must_change);
        assert_eq!(s.generated_length, 12);
        assert_eq!(s.generated_lower_case_chars_count, 6);
        assert!(s.notified_email_binding.binding().is_some());
        assert!(!format!("{s:?}").contains("Usercube@2019"));
    }

    #[test]
    fn absent_mode_means_disabled_and_bad_bindings_are_kept() {
        let wire: WireSettings = serde_json::from_value(serde_json::json!({
            "Id": 7,
            "NotifiedEmailBinding": "Owner.Mail",
            "BeneficiaryFullNameBinding": ""
        }))
        .unwrap();
        let s = wire.into_settings().unwrap();
        assert_eq!(s.mode, PasswordResetMode::Disabled);
        assert_eq!(s.identifier, "#7");
        assert!(matches!(
            s.notified_email_binding,
            BindingAttribute::Invalid(..)
        ));
        assert!(!s.beneficiary_full_name_binding.is_set());
    }

    #[test]
    fn unknown_mode_is_refused() {
        let wire: WireSettings =
            serde_json::from_value(serde_json::json!({"Id": 1, "Mode": 3})).unwrap();
        assert_eq!(
            wire.into_settings().unwrap_err(),
            "unknown password reset Mode 3"
        );
    }
}
