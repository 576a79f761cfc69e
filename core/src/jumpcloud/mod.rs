//! JumpCloud console API client (v1 `/api`, v2 `/api/v2`).
//!
//! What Passdesk needs to reimplement `Send-JCPasswordReset` and
//! `Invoke-JcSdkExpireUserPassword` and the look-ups behind them:
//!
//! | operation | request |
//! |---|---|
//! | [`JumpCloudClient::user_by_id`] | `GET /api/systemusers/{id}` |
//! | [`JumpCloudClient::user_by_username`] | `POST /api/search/systemusers`, anchored case-insensitive escaped regex, re-checked here |
//! | [`JumpCloudClient::users`], [`JumpCloudClient::users_not_activated`] | `POST /api/search/systemusers`, paged, `"sort":"_id"` |
//! | [`JumpCloudClient::group_by_name`] | `GET /api/v2/usergroups?filter=name:eq:…`, re-checked here |
//! | [`JumpCloudClient::usernames_starting_with`] | `POST /api/search/systemusers`, `(?i)^<escaped prefix>`, usernames only, one page (autocomplete) |
//! | [`JumpCloudClient::group_names_starting_with`] | `GET /api/v2/usergroups?filter=name:search:…`, re-checked here (autocomplete) |
//! | [`JumpCloudClient::group_members`], [`JumpCloudClient::group_member_users`] | `GET /api/v2/usergroups/{id}/members`, paged to exhaustion |
//! | [`JumpCloudClient::send_reset_email`] | `POST /api/systemusers/reactivate` `{"isSelectAll":false,"models":[{"_id":…}]}` |
//! | [`JumpCloudClient::expire_password`] | `POST /api/systemusers/{id}/expire` |
//!
//! ```no_run
//! # async fn demo() -> Result<(), passdesk_core::jumpcloud::Error> {
//! use passdesk_core::jumpcloud::{JumpCloudClient, Region, Username};
//! use secrecy::SecretString;
//!
//! let client = JumpCloudClient::builder(SecretString::from("…"))
//!     .region(Region::Eu)
//!     .build()?;
//! let user = client.user_by_username(&"jane.doe".parse::<Username>()?).await?;
//! let sent = client.send_reset_email(&user).await?;
//! # let _ = sent; Ok(()) }
//! ```
//!
//! Ids and names are typed ([`UserId`], [`OrgId`], [`GroupId`], [`Username`], [`GroupName`]) and
//! validated before they reach a filter or a path; the private `route` module is the only place
//! that percent-encodes. Retries follow [`crate::retry::RetryPolicy::decide`].

mod client;
mod error;
mod paging;
mod route;
mod types;
mod wire;

pub use client::{JumpCloudClient, JumpCloudClientBuilder, Region};
pub use error::{Error, Result};
pub use types::{
    ExpireOutcome, GroupId, GroupMemberUsers, GroupName, InvalidValue, OrgId, ResetEmailKind,
    ResetEmailSent, SystemUser, UserGroup, UserId, UserQuery, UserState, Username,
};
