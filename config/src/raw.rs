//! The file's shape as serde reads it, before validation.
//!
//! Every field is optional here and enum-like values are plain strings, so that serde fails only
//! on a wrong TOML type; everything else (required keys, ranges, names) is checked by
//! `validate.rs`, which reports all problems at once. Unknown keys are not refused by serde
//! (`deny_unknown_fields` would stop at the first one): `serde_ignored` reports every one of
//! them with its path, and each is an error, so the effect is the same, for all keys at once.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawConfig {
    pub jumpcloud: Option<RawJumpCloud>,
    pub identity_manager: Option<RawIdentityManager>,
    pub discord: Option<RawDiscord>,
    pub slack: Option<RawSlack>,
    pub groups: BTreeMap<String, RawGroup>,
    pub policy: RawPolicies,
    pub targets: RawTargets,
    pub accounts: RawAccounts,
    pub limits: RawLimits,
    pub bulk: RawBulk,
    pub audit: Option<RawAudit>,
    pub server: RawServer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawJumpCloud {
    pub region: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<RawSecret>,
    pub org_id: Option<String>,
    pub tenants: BTreeMap<String, String>,
    pub timeout_seconds: Option<u64>,
    pub connect_timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawIdentityManager {
    pub application_uri: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<RawSecret>,
    pub client_domain: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub connect_timeout_seconds: Option<u64>,
    pub mail: Option<RawMail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawMail {
    pub smtp: Option<RawSmtp>,
    pub pickup_directory: Option<String>,
    pub from_address: Option<String>,
    pub allowed_domains: Vec<String>,
    pub catch_all_address: Option<String>,
    pub catch_all_cc_address: Option<String>,
    pub enabled: Option<bool>,
    pub cultures: Option<Vec<String>>,
    pub templates: RawTemplates,
    pub timeout_seconds: Option<u64>,
    pub connect_timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawSmtp {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub secure: Option<String>,
    pub username: Option<String>,
    pub password: Option<RawSecret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawTemplates {
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawDiscord {
    pub application_id: Option<String>,
    pub public_key: Option<String>,
    pub bot_token: Option<RawSecret>,
    pub mode: Option<String>,
    pub guilds: BTreeMap<String, String>,
    pub approvals_channel: Option<String>,
    pub audit_channel: Option<String>,
    pub api_base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawSlack {
    pub signing_secret: Option<RawSecret>,
    pub bot_token: Option<RawSecret>,
    pub app_id: Option<String>,
    pub teams: BTreeMap<String, String>,
    pub approvals_channel: Option<String>,
    pub audit_channel: Option<String>,
    pub api_base_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawGroup {
    pub discord_roles: Vec<String>,
    pub discord_users: Vec<String>,
    pub slack_usergroups: Vec<String>,
    pub slack_users: Vec<String>,
    pub cli_users: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawPolicies {
    pub reset: Option<RawPolicy>,
    pub expire: Option<RawPolicy>,
    pub notify: Option<RawPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawPolicy {
    pub groups: Option<Vec<String>>,
    pub channels: RawChannels,
    pub approval: Option<String>,
    pub bulk_threshold: Option<u64>,
    pub approver_groups: Vec<String>,
    pub allow_self: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawChannels {
    pub discord: Option<Vec<String>>,
    pub slack: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawTargets {
    pub protected_groups: Vec<String>,
    pub protected_usernames: Vec<String>,
    pub protected_override_groups: Vec<String>,
}

/// `[accounts]`: platform id → JumpCloud username, per platform.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawAccounts {
    pub discord: BTreeMap<String, String>,
    pub slack: BTreeMap<String, String>,
    pub cli: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawLimits {
    pub max_targets: Option<u64>,
    pub confirmation_ttl_seconds: Option<u64>,
    pub approval_ttl_seconds: Option<u64>,
    pub cooldown_seconds: Option<u64>,
    pub max_per_hour: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawBulk {
    pub concurrency: Option<u64>,
    pub rate_per_second: Option<f64>,
    pub progress_interval_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawAudit {
    pub path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawServer {
    pub listen: Option<String>,
}

/// A secret as written: a reference (`{ env = "…" }` or `{ file = "…" }`), or something else,
/// kept without its value.
///
/// Any scalar (a string, number, boolean or date) is taken as an inline secret so that a value
/// written inline is refused by name and never echoed in a type error. Keys other than `env`
/// and `file` go through [`IgnoredAny`], so `serde_ignored` reports them as unknown keys.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawSecret {
    /// A value written inline (its content is dropped at once).
    Inline,
    /// A table: `env` and/or `file`, each a string or `None` when absent or not a string.
    Reference {
        env: Option<RefValue>,
        file: Option<RefValue>,
    },
    /// An array.
    Array,
}

/// The value of an `env` or `file` key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefValue {
    Text(String),
    NotText,
}

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

/// toml passes a date-time as a one-key table with this key.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = RawSecret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret reference { env = \"VAR\" } or { file = \"/path\" }")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RawSecret::Inline)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawSecret::Inline)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawSecret::Inline)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RawSecret::Inline)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawSecret::Inline)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(RawSecret::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut env, mut file) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "env" => env = Some(map.next_value::<RefValue>()?),
                "file" => file = Some(map.next_value::<RefValue>()?),
                TOML_DATETIME_KEY => {
                    map.next_value::<Skip>()?;
                    return Ok(RawSecret::Inline);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RawSecret::Reference { env, file })
    }
}

impl<'de> Deserialize<'de> for RefValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RefValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(RefValue::Text(s.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RefValue::NotText)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RefValue::NotText)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RefValue::NotText)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RefValue::NotText)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(RefValue::NotText)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(RefValue::NotText)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Consumes any value without `deserialize_ignored_any`, so `serde_ignored` does not report the
/// parts of a value that is already refused as a whole (an array where a secret belongs, …).
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Skip)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Skip)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Skip)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Skip)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Skip)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
        }
        deserializer.deserialize_any(V)
    }
}
