//! Errors of the Identity Manager client, each worded for a helpdesk member and naming the id
//! involved.

use std::fmt;
use std::time::Duration;

use super::binding::BindingError;
use super::ids::{AssignedResourceTypeId, ResourceTypeId, ResourceTypeMappingId};
use super::mail;

/// Everything that can go wrong planning or sending a password notification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's own settings are unusable (a bad `ApplicationUri`, client id or timeout).
    #[error("invalid identity manager client settings: {0}")]
    Config(String),

    /// No connection to the server could be made within the connect timeout.
    #[error(
        "the identity manager server at {url} is unreachable (no connection within {connect_timeout:?}); \
         check that it is running and that ApplicationUri is right"
    )]
    Unreachable {
        /// The `ApplicationUri`.
        url: String,
        /// The connect timeout that was used.
        connect_timeout: Duration,
    },

    /// The server took the request but did not answer in time (or dropped the connection).
    #[error("the identity manager server at {url} did not answer {route} in time")]
    Timeout {
        /// The `ApplicationUri`.
        url: String,
        /// The route template.
        route: &'static str,
    },

    /// The token endpoint refused the client credentials.
    #[error(
        "the identity manager server at {url} refused the credentials of client '{client_id}' ({reason}); \
         check the client id and secret, and that the OpenIdClient has not expired"
    )]
    AuthenticationRefused {
        /// The `ApplicationUri`.
        url: String,
        /// The `client_id` sent, `<id>@<host>`.
        client_id: String,
        /// The OAuth2 error code or the HTTP status.
        reason: String,
    },

    /// An API call was refused as unauthenticated even with a freshly issued token.
    #[error(
        "identity manager rejected the access token for {route} even after a fresh one was obtained"
    )]
    Unauthorized {
        /// The route template.
        route: &'static str,
    },

    /// The client's profile may not read this route.
    #[error(
        "the identity manager client is not allowed to read {route} (403); check the profile of its OpenIdClient"
    )]
    Forbidden {
        /// The route template.
        route: &'static str,
    },

    /// The resource type mapping does not exist.
    #[error("resource type mapping {mapping} was not found in identity manager")]
    MappingNotFound {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
    },

    /// The mapping has no `PasswordResetSetting`, or it names settings that do not exist.
    #[error(
        "resource type mapping {mapping} has no password reset settings, so identity manager sends no password notification for it"
    )]
    NoPasswordResetSettings {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
    },

    /// The mapping's settings disable notifications.
    #[error("password notifications are disabled for resource type mapping {mapping}: {reason}")]
    NotificationsDisabled {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// Why.
        reason: DisabledReason,
    },

    /// The settings name nobody to mail (the vendor: "no mail is sent").
    #[error(
        "password reset settings '{settings}' of resource type mapping {mapping} have no NotifiedEmailBinding, so there is nobody to mail"
    )]
    NoNotifiedEmailBinding {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The settings' `Identifier`.
        settings: String,
    },

    /// A binding of the settings is not a valid path.
    #[error(
        "password reset settings '{settings}' of resource type mapping {mapping}: {attribute} is not usable ({error})"
    )]
    InvalidBinding {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The settings' `Identifier`.
        settings: String,
        /// The attribute, e.g. `NotifiedEmailBinding`.
        attribute: &'static str,
        /// What is wrong with it.
        error: BindingError,
    },

    /// Two bindings cast the same navigation to different entity types.
    #[error(
        "password reset settings '{settings}' of resource type mapping {mapping} read {navigation} as two different entity types"
    )]
    ConflictingBindings {
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The settings' `Identifier`.
        settings: String,
        /// The navigation path cast twice.
        navigation: String,
    },

    /// The server refused the query built from the settings' bindings (e.g. a property it does
    /// not know).
    #[error(
        "identity manager refused the bindings of password reset settings '{settings}' (resource type mapping {mapping}) for assigned resource type {assigned_resource_type}: {excerpt}"
    )]
    BindingsRefused {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The settings' `Identifier`.
        settings: String,
        /// A bounded excerpt of the server's answer.
        excerpt: String,
    },

    /// The assigned resource type does not exist.
    #[error("assigned resource type {assigned_resource_type} was not found in identity manager")]
    AssignedResourceTypeNotFound {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
    },

    /// The assigned resource type belongs to another resource type than the mapping's.
    #[error(
        "assigned resource type {assigned_resource_type} belongs to resource type {}, not to resource type mapping {mapping}",
        actual.map_or_else(|| "(none)".to_owned(), |id| id.to_string())
    )]
    ResourceTypeMismatch {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The resource type it belongs to.
        actual: Option<ResourceTypeId>,
    },

    /// The notified-email binding leads to no address for this assigned resource type.
    #[error(
        "NotifiedEmailBinding {binding} resolves to no email address for assigned resource type {assigned_resource_type}"
    )]
    NoRecipientEmail {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
        /// The binding path.
        binding: String,
    },

    /// The notified-email binding leads to something that is not an email address.
    #[error(
        "NotifiedEmailBinding {binding} resolves to an invalid email address for assigned resource type {assigned_resource_type}"
    )]
    InvalidRecipientEmail {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
        /// The binding path.
        binding: String,
    },

    /// Policy requires the beneficiary's name and there is none.
    #[error(
        "no beneficiary full name for assigned resource type {assigned_resource_type} (password reset settings '{settings}' of resource type mapping {mapping}), and policy requires it in the mail"
    )]
    MissingBeneficiaryName {
        /// The assigned resource type asked for.
        assigned_resource_type: AssignedResourceTypeId,
        /// The mapping asked for.
        mapping: ResourceTypeMappingId,
        /// The settings' `Identifier`.
        settings: String,
    },

    /// The server refused the request as malformed (e.g. a binding it does not know).
    #[error("identity manager refused the request to {route} ({status}): {excerpt}")]
    BadRequest {
        /// The route template.
        route: &'static str,
        /// The HTTP status.
        status: u16,
        /// A bounded excerpt of the answer.
        excerpt: String,
    },

    /// The route answered 404 (mapped to a specific variant where the id is known).
    #[error("identity manager found nothing at {route}")]
    NotFound {
        /// The route template.
        route: &'static str,
    },

    /// Rate limited, and the retry budget ran out.
    #[error("identity manager is limiting the rate of requests to {route}; try again later")]
    RateLimited {
        /// The route template.
        route: &'static str,
        /// The server's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },

    /// Any other unexpected status, after retries where they apply.
    #[error("identity manager answered {route} with status {status}: {excerpt}")]
    Upstream {
        /// The route template.
        route: &'static str,
        /// The HTTP status.
        status: u16,
        /// A bounded excerpt of the answer.
        excerpt: String,
    },

    /// The answer could not be understood.
    #[error("unexpected answer from identity manager to {route}: {message}")]
    Decode {
        /// The route template.
        route: &'static str,
        /// What was wrong (never upstream text beyond a bounded excerpt).
        message: String,
    },

    /// The mail could not be rendered or sent.
    #[error(transparent)]
    Mail(#[from] mail::Error),
}

/// Why the notifications of a mapping are disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisabledReason {
    /// The settings have `DisableNotifications="true"`.
    DisableNotifications {
        /// The settings' `Identifier`.
        settings: String,
    },
    /// The settings have `Mode="0"` (password reset service disabled).
    ModeDisabled {
        /// The settings' `Identifier`.
        settings: String,
    },
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DisableNotifications { settings } => write!(
                f,
                "its password reset settings '{settings}' have DisableNotifications set"
            ),
            Self::ModeDisabled { settings } => write!(
                f,
                "its password reset settings '{settings}' have Mode 0 (password reset disabled)"
            ),
        }
    }
}
