//! Planning a password notification (read-only) and sending it.

use std::fmt;

use serde_json::Value;
use tracing::instrument;

use super::binding::Binding;
use super::client::Client;
use super::error::{DisabledReason, Error};
use super::ids::{
    AssignedResourceTypeId, PasswordResetSettingId, ResourceTypeId, ResourceTypeMappingId,
};
use super::mail::{self, Culture, Delivery, Email, Mailer, Password, PasswordNotification};
use super::route::Route;
use super::settings::{
    BindingAttribute, MAPPING_FIELDS, PasswordResetMode, PasswordResetSettings, SETTINGS_FIELDS,
    WireMapping, WireSettings,
};
use super::squery::{self, Query};

/// The longest name taken from Identity Manager into a mail, in characters.
const MAX_NAME: usize = 200;

/// Policy for [`Client::plan_notification`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Refuse to plan when there is no beneficiary full name (no binding, or it resolves to
    /// nothing). Off by default: the vendor sends the mail anyway, which then "makes no sense"
    /// (F1), so the plan carries a warning instead.
    pub require_beneficiary_name: bool,
    /// The cultures the mail is sent in (the agent's `NotificationSettings.Cultures`, F9), shown
    /// in the plan; set it from the same mail settings the [`Mailer`] uses.
    pub cultures: Vec<Culture>,
}

impl Default for PlanOptions {
    /// Beneficiary name not required; English, the documented default culture.
    fn default() -> Self {
        Self {
            require_beneficiary_name: false,
            cultures: vec![Culture::En],
        }
    }
}

/// Something a dry run should show, that does not stop the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanWarning {
    /// The settings have no `BeneficiaryFullNameBinding`.
    NoBeneficiaryNameBinding,
    /// The beneficiary full-name binding resolves to nothing for this assigned resource type.
    BeneficiaryNameUnresolved {
        /// The binding path.
        binding: String,
    },
    /// The settings are Two-Way: Identity Manager itself would mail a link, not a password.
    TwoWayMode,
    /// The settings' `NotificationCC` is not a usable address and is left out.
    InvalidSettingsCc {
        /// A bounded excerpt of the value.
        value: String,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBeneficiaryNameBinding => f.write_str(
                "the password reset settings have no BeneficiaryFullNameBinding: the mail will not say whose password it is",
            ),
            Self::BeneficiaryNameUnresolved { binding } => write!(
                f,
                "BeneficiaryFullNameBinding {binding} resolves to no name: the mail will not say whose password it is"
            ),
            Self::TwoWayMode => f.write_str(
                "the password reset settings are Two-Way (Mode 2); Passdesk mails the password as One-Way does",
            ),
            Self::InvalidSettingsCc { value } => write!(
                f,
                "the settings' NotificationCC '{value}' is not a valid address and is left out"
            ),
        }
    }
}

/// What a password notification will do, resolved from Identity Manager; holds no password, so
/// a dry run can show all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationPlan {
    /// The assigned resource type (`--assigned-resource-type`).
    pub assigned_resource_type: AssignedResourceTypeId,
    /// The resource type mapping (`--resource-type-mapping`).
    pub mapping: ResourceTypeMappingId,
    /// The mapping's `Identifier`, when the server gave it.
    pub mapping_identifier: Option<String>,
    /// The password reset settings' id.
    pub settings_id: PasswordResetSettingId,
    /// The password reset settings' `Identifier`.
    pub settings_identifier: String,
    /// The settings' mode.
    pub mode: PasswordResetMode,
    /// Who is mailed: the value of `NotifiedEmailBinding`.
    pub recipient: Email,
    /// Their name: the value of `NotifiedFullNameBinding`, when set and resolved.
    pub recipient_name: Option<String>,
    /// Whose password it is: the value of `BeneficiaryFullNameBinding`.
    pub beneficiary_name: Option<String>,
    /// Copies: the settings' `NotificationCC`, then the command's, without duplicates.
    pub cc: Vec<Email>,
    /// The cultures the mail is sent in.
    pub cultures: Vec<Culture>,
    /// What a dry run should point out.
    pub warnings: Vec<PlanWarning>,
}

impl NotificationPlan {
    /// The mail side's view of the plan.
    pub fn notification(&self) -> PasswordNotification {
        PasswordNotification {
            recipient: self.recipient.clone(),
            recipient_name: self.recipient_name.clone(),
            beneficiary_name: self.beneficiary_name.clone(),
            cc: self.cc.clone(),
            account: self.mapping_identifier.clone(),
        }
    }
}

impl fmt::Display for NotificationPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "password notification for assigned resource type {} on resource type mapping {}",
            self.assigned_resource_type, self.mapping
        )?;
        if let Some(identifier) = &self.mapping_identifier {
            write!(f, " ({identifier})")?;
        }
        write!(f, "\n  settings: {}", self.settings_identifier)?;
        write!(f, "\n  to: {}", self.recipient)?;
        if let Some(name) = &self.recipient_name {
            write!(f, " ({name})")?;
        }
        write!(
            f,
            "\n  beneficiary: {}",
            self.beneficiary_name.as_deref().unwrap_or("(unknown)")
        )?;
        if !self.cc.is_empty() {
            let cc: Vec<String> = self.cc.iter().map(ToString::to_string).collect();
            write!(f, "\n  cc: {}", cc.join(", "))?;
        }
        let cultures: Vec<String> = self.cultures.iter().map(ToString::to_string).collect();
        write!(f, "\n  languages: {}", cultures.join(", "))?;
        for warning in &self.warnings {
            write!(f, "\n  warning: {warning}")?;
        }
        Ok(())
    }
}

impl Client {
    /// Resolves what `Usercube-Send-PasswordNotification --assigned-resource-type <art>
    /// --resource-type-mapping <mapping> [--notification-cc <cc>]` would mail, without sending
    /// anything:
    ///
    /// 1. the mapping, for its `PasswordResetSettingId`;
    /// 2. those password reset settings;
    /// 3. refusal when notifications are disabled or nobody is to be mailed;
    /// 4. the assigned resource type with the bindings' values, in one squery;
    /// 5. the plan: recipient, names, CC list and warnings.
    #[instrument(
        name = "identity_manager.plan_notification",
        skip_all,
        fields(assigned_resource_type = %assigned_resource_type, mapping = %mapping)
    )]
    pub async fn plan_notification(
        &self,
        assigned_resource_type: AssignedResourceTypeId,
        mapping: ResourceTypeMappingId,
        cc: &[Email],
    ) -> Result<NotificationPlan, Error> {
        let options = &self.inner.plan_options;
        let art = assigned_resource_type;

        // 1. The mapping.
        let mapping_query = Query::select(MAPPING_FIELDS).render();
        let found = match self
            .get_one(Route::ResourceTypeMapping(mapping), &mapping_query)
            .await
        {
            Ok(found) => found,
            Err(Error::NotFound { .. }) => return Err(Error::MappingNotFound { mapping }),
            Err(e) => return Err(e),
        };
        let wire: WireMapping = serde_json::from_value(found).map_err(|_| Error::Decode {
            route: Route::ResourceTypeMapping(mapping).template(),
            message: "a resource type mapping of an unexpected shape".to_owned(),
        })?;
        if wire.id != mapping {
            return Err(Error::Decode {
                route: Route::ResourceTypeMapping(mapping).template(),
                message: format!(
                    "resource type mapping {} when {mapping} was asked for",
                    wire.id
                ),
            });
        }
        let mapping_identifier = wire
            .identifier
            .as_deref()
            .map(crate::http::excerpt)
            .filter(|s| !s.is_empty());
        let settings_id = wire
            .password_reset_setting_id
            .ok_or(Error::NoPasswordResetSettings { mapping })?;

        // 2. The settings.
        let settings = self.password_reset_settings(mapping, settings_id).await?;
        let name = settings.identifier.clone();

        // 3. Refusals that need no assigned resource type.
        if settings.disable_notifications {
            return Err(Error::NotificationsDisabled {
                mapping,
                reason: DisabledReason::DisableNotifications { settings: name },
            });
        }
        if settings.mode == PasswordResetMode::Disabled {
            return Err(Error::NotificationsDisabled {
                mapping,
                reason: DisabledReason::ModeDisabled { settings: name },
            });
        }
        let used = |attribute: &'static str, value: &BindingAttribute| match value {
            BindingAttribute::Absent => Ok(None),
            BindingAttribute::Valid(binding) => Ok(Some(binding.clone())),
            BindingAttribute::Invalid(_, error) => Err(Error::InvalidBinding {
                mapping,
                settings: name.clone(),
                attribute,
                error: error.clone(),
            }),
        };
        let notified_email = used("NotifiedEmailBinding", &settings.notified_email_binding)?
            .ok_or_else(|| Error::NoNotifiedEmailBinding {
                mapping,
                settings: name.clone(),
            })?;
        let notified_name = used(
            "NotifiedFullNameBinding",
            &settings.notified_full_name_binding,
        )?;
        let beneficiary_name = used(
            "BeneficiaryFullNameBinding",
            &settings.beneficiary_full_name_binding,
        )?;

        // 4. The assigned resource type and the bindings' values.
        let mut query = Query::select(&["Id", "RoleId"]);
        for binding in [
            Some(&notified_email),
            notified_name.as_ref(),
            beneficiary_name.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            query
                .add_binding(binding)
                .map_err(|conflict| Error::ConflictingBindings {
                    mapping,
                    settings: name.clone(),
                    navigation: conflict.navigation,
                })?;
        }
        let answer = match self
            .get_one(Route::AssignedResourceType(art), &query.render())
            .await
        {
            Ok(answer) => answer,
            Err(Error::NotFound { .. }) => {
                return Err(Error::AssignedResourceTypeNotFound {
                    assigned_resource_type: art,
                });
            }
            Err(Error::BadRequest { excerpt, .. }) => {
                return Err(Error::BindingsRefused {
                    assigned_resource_type: art,
                    mapping,
                    settings: name,
                    excerpt,
                });
            }
            Err(e) => return Err(e),
        };
        let role = answer
            .get("RoleId")
            .cloned()
            .and_then(|v| serde_json::from_value::<ResourceTypeId>(v).ok());
        // A mapping has the same id as its resource type (F5).
        if role.map(ResourceTypeId::get) != Some(mapping.get()) {
            return Err(Error::ResourceTypeMismatch {
                assigned_resource_type: art,
                mapping,
                actual: role,
            });
        }

        // 5. The plan.
        let recipient =
            squery::read_text(&answer, &notified_email).ok_or_else(|| Error::NoRecipientEmail {
                assigned_resource_type: art,
                binding: notified_email.to_string(),
            })?;
        let recipient: Email = recipient
            .parse()
            .map_err(|_| Error::InvalidRecipientEmail {
                assigned_resource_type: art,
                binding: notified_email.to_string(),
            })?;
        let recipient_name = notified_name.as_ref().and_then(|b| read_name(&answer, b));
        let mut warnings = Vec::new();
        let beneficiary = match &beneficiary_name {
            None => {
                warnings.push(PlanWarning::NoBeneficiaryNameBinding);
                None
            }
            Some(binding) => {
                let found = read_name(&answer, binding);
                if found.is_none() {
                    warnings.push(PlanWarning::BeneficiaryNameUnresolved {
                        binding: binding.to_string(),
                    });
                }
                found
            }
        };
        if beneficiary.is_none() && options.require_beneficiary_name {
            return Err(Error::MissingBeneficiaryName {
                assigned_resource_type: art,
                mapping,
                settings: name,
            });
        }
        if settings.mode == PasswordResetMode::TwoWay {
            warnings.push(PlanWarning::TwoWayMode);
        }
        let mut copies: Vec<Email> = Vec::new();
        if let Some(value) = &settings.notification_cc {
            match value.parse::<Email>() {
                Ok(email) => copies.push(email),
                Err(_) => warnings.push(PlanWarning::InvalidSettingsCc {
                    value: crate::http::excerpt(value),
                }),
            }
        }
        copies.extend(cc.iter().cloned());
        let mut unique: Vec<Email> = Vec::new();
        for email in copies {
            let seen =
                email.same_mailbox(&recipient) || unique.iter().any(|e| e.same_mailbox(&email));
            if !seen {
                unique.push(email);
            }
        }
        tracing::debug!(
            cc = unique.len(),
            warnings = warnings.len(),
            "password notification planned"
        );
        Ok(NotificationPlan {
            assigned_resource_type: art,
            mapping,
            mapping_identifier,
            settings_id,
            settings_identifier: settings.identifier,
            mode: settings.mode,
            recipient,
            recipient_name,
            beneficiary_name: beneficiary,
            cc: unique,
            cultures: options.cultures.clone(),
            warnings,
        })
    }

    /// Reads one password reset settings set by id; a missing one reads as "the mapping has no
    /// password reset settings".
    async fn password_reset_settings(
        &self,
        mapping: ResourceTypeMappingId,
        id: PasswordResetSettingId,
    ) -> Result<PasswordResetSettings, Error> {
        let route = Route::PasswordResetSettings;
        let query = Query::select(SETTINGS_FIELDS).where_id(id.get()).render();
        let items = self.get_list(route, &query).await?;
        let wanted = items.into_iter().find(|item| {
            item.get("Id")
                .cloned()
                .and_then(|v| serde_json::from_value::<PasswordResetSettingId>(v).ok())
                == Some(id)
        });
        let Some(item) = wanted else {
            return Err(Error::NoPasswordResetSettings { mapping });
        };
        let wire: WireSettings = serde_json::from_value(item).map_err(|_| Error::Decode {
            route: route.template(),
            message: "password reset settings of an unexpected shape".to_owned(),
        })?;
        wire.into_settings().map_err(|message| Error::Decode {
            route: route.template(),
            message,
        })
    }
}

/// A display name from a binding: trimmed, single-line, bounded.
fn read_name(answer: &Value, binding: &Binding) -> Option<String> {
    let name = squery::read_text(answer, binding)?;
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_NAME)
        .collect();
    Some(clean.trim().to_owned()).filter(|n| !n.is_empty())
}

/// Mails the password to the plan's recipient through `mailer`, then drops it. Nothing is
/// retried here: a mail that may have left is never sent twice (the mailer reports such an
/// outcome as unknown).
#[instrument(
    name = "identity_manager.send_notification",
    skip_all,
    fields(assigned_resource_type = %plan.assigned_resource_type, mapping = %plan.mapping)
)]
pub async fn send_notification(
    mailer: &Mailer,
    plan: &NotificationPlan,
    password: Password,
) -> Result<Delivery, Error> {
    let notification = plan.notification();
    let delivery: Result<Delivery, mail::Error> = mailer
        .send_password_notification(&notification, password)
        .await;
    Ok(delivery?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn plans_and_sends_can_run_on_any_task() {
        fn send<T: Send>(_: &T) {}
        let client = Client::builder("https://a.example", "Job", SecretString::from("s"))
            .build()
            .unwrap();
        let cc: [Email; 0] = [];
        let planning = client.plan_notification(
            AssignedResourceTypeId::new(1000),
            ResourceTypeMappingId::new(10),
            &cc,
        );
        send(&planning);
    }

    #[test]
    fn default_options_warn_rather_than_refuse() {
        let options = PlanOptions::default();
        assert!(!options.require_beneficiary_name);
        assert_eq!(options.cultures, [Culture::En]);
    }
}
