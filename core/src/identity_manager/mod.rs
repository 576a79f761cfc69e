//! Netwrix Identity Manager (formerly Usercube): the password notification that
//! `Usercube-Send-PasswordNotification` sends, done on documented server routes.
//!
//! The executable takes `--password`, `--assigned-resource-type <id>`,
//! `--resource-type-mapping <id>` and optional `--notification-cc <email>`, needs the server at
//! `ApplicationUri` running, and mails the password to the person named by the mapping's
//! password reset settings. The route it calls is not documented, so Passdesk does what the
//! agent does, one documented step at a time:
//!
//! ```no_run
//! # async fn demo(mailer: &passdesk_core::mail::Mailer, password: passdesk_core::mail::Password)
//! # -> Result<(), passdesk_core::identity_manager::Error> {
//! use passdesk_core::identity_manager::{Client, send_notification};
//! use secrecy::SecretString;
//!
//! let client = Client::builder("https://usercube.acme.example", "Job", SecretString::from("secret"))
//!     .build()?;
//! let plan = client
//!     .plan_notification("1000".parse().unwrap(), "10".parse().unwrap(), &[])
//!     .await?; // read-only: a dry run shows `plan`
//! send_notification(mailer, &plan, password).await?;
//! # Ok(()) }
//! ```
//!
//! # Which step rests on which page
//!
//! Paths are in the vendor's documentation repository; F-numbers refer to
//! `shared/reference/identity-manager.md`.
//!
//! | step | documented by | inferred |
//! |---|---|---|
//! | arguments, preconditions ("should at least contain a notified email binding", "for the notification to make sense … a beneficiary full name binding"), mapping id = resource type id | `docs/identitymanager/6.2/integration-guide/executables/references/send-passwordnotification/index.md` (F1) | — |
//! | server base URL = `ApplicationUri` | `…/network-configuration/agent-configuration/appsettings/index.md` (F8) | — |
//! | token: discovery at `/.well-known/openid-configuration`; `client_id=<Identifier>@<host>`; `scope=usercube_api` | `docs/identitymanager/6.2/integration-guide/api/authentication/index.md` (F12) | reading `token_endpoint` from discovery and keeping it on the `ApplicationUri`'s origin |
//! | `POST /connect/token` form with `grant_type=client_credentials`, `client_secret`; API calls with `Authorization: Bearer` and `?api-version=1.0` | `docs/identitymanager/6.2/integration-guide/api/request-postman/index.md` (F13); host only, no port: customer scripts (F16) | caching the token until shortly before `expires_in`; refreshing once on a 401 |
//! | `squery` grammar (`join … of type … alias`, `select`, `where`), `{"Result": [...]}`, ids as strings | `docs/identitymanager/6.2/integration-guide/api/squery/index.md` (F13) | joined entities nest in the answer under their navigation property (read from the documented example answer) |
//! | `PageSize` / `ContinuationToken` | `docs/identitymanager/6.2/integration-guide/api/pagination/index.md` (F13) | the token is returned as `ContinuationToken` beside `Result` |
//! | 1. `GET /api/Connectors/Mapping/ResourceTypeMapping/{id}` | `docs/identitymanager/6.1/integration-guide/api/server/connectors/index.md` (F14, F22) | the answer is the mapping object; its link to the settings is `PasswordResetSettingId` (the XML attribute is `PasswordResetSetting`, F5) |
//! | 2. `GET /api/Connectors/Mapping/PasswordResetSetting?squery=select … where Id = n` | same page (F14, F22); attributes: `…/toolkit/xml-configuration/connectors/passwordresetsettings/index.md` (F4) | the answer uses the XML attribute names, bindings as path strings |
//! | 3. disabled when `DisableNotifications` or `Mode` 0; no mail without `NotifiedEmailBinding` | F4, F1; the vendor's Robot Framework caller skips when `DisableNotifications` (F6) | `Mode` 0 refusing the notification (the vendor documents Mode 0 as "disabled") |
//! | 4. `GET /api/ProvisioningPolicy/AssignedResourceType/{id}?squery=join … select …` | `docs/identitymanager/6.1/integration-guide/api/server/provisioningpolicy/index.md` (F15) | the resource type is `RoleId` (seen in customer scripts, F15); bindings resolved by the squery built from their paths |
//! | 5. mail rendered and sent agent-side (SMTP or pickup directory) | `…/production-ready/email-server/index.md` (F10), `…/appsettings-agent/index.md` (F9) | the template (the vendor's model is not documented, F21): see [`crate::mail`] |
//!
//! The binding path grammar is in [`binding`]; the squery built from bindings in the source of
//! `squery.rs`.
//!
//! # Secrets
//!
//! The client secret and the access token are [`secrecy::SecretString`]s, exposed in exactly one
//! place each (the token form and the `Authorization` header). The password is a
//! [`crate::mail::Password`], moved into the mailer and dropped after sending; it is in no plan,
//! error, span or log. `DefaultPassword` is never asked for.

pub mod binding;
mod client;
mod error;
mod ids;
mod plan;
mod route;
mod settings;
mod squery;

use crate::mail;

pub use binding::{Binding, BindingError, BindingProblem};
pub use client::{
    API_VERSION, Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_REFRESH_MARGIN, SCOPE,
};
pub use error::{DisabledReason, Error};
pub use ids::{
    AssignedResourceTypeId, IdError, PasswordResetSettingId, ResourceTypeId, ResourceTypeMappingId,
};
pub use plan::{NotificationPlan, PlanOptions, PlanWarning, send_notification};
pub use settings::{BindingAttribute, PasswordResetMode, PasswordResetSettings};
