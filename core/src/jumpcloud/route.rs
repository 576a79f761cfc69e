//! Every JumpCloud endpoint Passdesk calls: method, path template and built path.
//!
//! Percent-encoding happens here and only here: path segments and query values go through
//! [`encode`], which leaves only RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) as they
//! are. Ids are typed (24 hex digits) before they get this far, so encoding them is a no-op kept
//! for uniformity.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;

use super::types::{GroupId, GroupName, UserId};

/// Everything but the RFC 3986 unreserved characters is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The page size for every listing (the v2 maximum, and the v1 documented one).
pub(crate) const PAGE_SIZE: u64 = 100;

/// One JumpCloud endpoint with its parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route<'a> {
    /// E3: `GET /api/systemusers/{id}`.
    GetUser { id: &'a UserId },
    /// E5: `POST /api/search/systemusers` (filter and paging go in the body).
    SearchUsers,
    /// E1: `POST /api/systemusers/reactivate`, the `Send-JCPasswordReset` request.
    Reactivate,
    /// E2: `POST /api/systemusers/{id}/expire`.
    ExpirePassword { id: &'a UserId },
    /// E6: `GET /api/v2/usergroups?filter=name:eq:<name>&limit=…&skip=…&sort=name`.
    UserGroupsByName { name: &'a GroupName, skip: u64 },
    /// E8: `GET /api/v2/usergroups/{group_id}/members?limit=…&skip=…`.
    UserGroupMembers { group_id: &'a GroupId, skip: u64 },
    /// E6 for autocomplete: `GET /api/v2/usergroups?filter=name:search:<text>&limit=…&skip=…&sort=name`,
    /// without the filter when `search` is `None` (the first groups by name).
    UserGroupsSearch {
        search: Option<&'a str>,
        limit: u64,
        skip: u64,
    },
}

impl Route<'_> {
    /// The HTTP method.
    pub(crate) fn method(&self) -> Method {
        match self {
            Self::GetUser { .. }
            | Self::UserGroupsByName { .. }
            | Self::UserGroupMembers { .. }
            | Self::UserGroupsSearch { .. } => Method::GET,
            Self::SearchUsers | Self::Reactivate | Self::ExpirePassword { .. } => Method::POST,
        }
    }

    /// The path template, for spans and logs (no ids, no query string).
    pub(crate) fn template(&self) -> &'static str {
        match self {
            Self::GetUser { .. } => "/api/systemusers/{id}",
            Self::SearchUsers => "/api/search/systemusers",
            Self::Reactivate => "/api/systemusers/reactivate",
            Self::ExpirePassword { .. } => "/api/systemusers/{id}/expire",
            Self::UserGroupsByName { .. } | Self::UserGroupsSearch { .. } => "/api/v2/usergroups",
            Self::UserGroupMembers { .. } => "/api/v2/usergroups/{group_id}/members",
        }
    }

    /// Whether the request names one resource, so that a `404` means that resource is missing:
    /// the id in the path, or for `reactivate` the user named in the body (a search or a list
    /// cannot miss anything).
    pub(crate) fn names_a_resource(&self) -> bool {
        matches!(
            self,
            Self::GetUser { .. }
                | Self::ExpirePassword { .. }
                | Self::UserGroupMembers { .. }
                | Self::Reactivate
        )
    }

    /// The path and query string to append to the base URL.
    pub(crate) fn path_and_query(&self) -> String {
        match self {
            Self::GetUser { id } => format!("/api/systemusers/{}", encode(id.as_str())),
            Self::SearchUsers => "/api/search/systemusers".to_owned(),
            Self::Reactivate => "/api/systemusers/reactivate".to_owned(),
            Self::ExpirePassword { id } => {
                format!("/api/systemusers/{}/expire", encode(id.as_str()))
            }
            Self::UserGroupsByName { name, skip } => format!(
                "/api/v2/usergroups?filter=name:eq:{}&limit={PAGE_SIZE}&skip={skip}&sort=name",
                encode(name.as_str())
            ),
            Self::UserGroupMembers { group_id, skip } => format!(
                "/api/v2/usergroups/{}/members?limit={PAGE_SIZE}&skip={skip}",
                encode(group_id.as_str())
            ),
            Self::UserGroupsSearch {
                search: Some(text),
                limit,
                skip,
            } => format!(
                "/api/v2/usergroups?filter=name:search:{}&limit={limit}&skip={skip}&sort=name",
                encode(text)
            ),
            Self::UserGroupsSearch {
                search: None,
                limit,
                skip,
            } => format!("/api/v2/usergroups?limit={limit}&skip={skip}&sort=name"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let id: UserId = "5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        let gid: GroupId = "6a0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        let name: GroupName = "IT & Ops: #1, 50%+ é*".parse().unwrap();
        #[rustfmt::skip]
        let table: Vec<(Route<'_>, Method, &str, String)> = vec![
            (Route::GetUser { id: &id }, Method::GET, "/api/systemusers/{id}",
             "/api/systemusers/5f0c1a2b3c4d5e6f7a8b9c0d".into()),
            (Route::SearchUsers, Method::POST, "/api/search/systemusers",
             "/api/search/systemusers".into()),
            (Route::Reactivate, Method::POST, "/api/systemusers/reactivate",
             "/api/systemusers/reactivate".into()),
            (Route::ExpirePassword { id: &id }, Method::POST, "/api/systemusers/{id}/expire",
             "/api/systemusers/5f0c1a2b3c4d5e6f7a8b9c0d/expire".into()),
            (Route::UserGroupsByName { name: &name, skip: 200 }, Method::GET, "/api/v2/usergroups",
             "/api/v2/usergroups?filter=name:eq:IT%20%26%20Ops%3A%20%231%2C%2050%25%2B%20%C3%A9%2A&limit=100&skip=200&sort=name".into()),
            (Route::UserGroupMembers { group_id: &gid, skip: 0 }, Method::GET,
             "/api/v2/usergroups/{group_id}/members",
             "/api/v2/usergroups/6a0c1a2b3c4d5e6f7a8b9c0d/members?limit=100&skip=0".into()),
            (Route::UserGroupsSearch { search: Some("New* (IT): a&b"), limit: 100, skip: 100 },
             Method::GET, "/api/v2/usergroups",
             "/api/v2/usergroups?filter=name:search:New%2A%20%28IT%29%3A%20a%26b&limit=100&skip=100&sort=name".into()),
            (Route::UserGroupsSearch { search: None, limit: 25, skip: 0 }, Method::GET,
             "/api/v2/usergroups", "/api/v2/usergroups?limit=25&skip=0&sort=name".into()),
        ];
        for (route, method, template, path) in table {
            assert_eq!(route.method(), method, "{route:?}");
            assert_eq!(route.template(), template, "{route:?}");
            assert_eq!(route.path_and_query(), path, "{route:?}");
            assert!(!route.template().contains('?'));
        }
    }

    #[test]
    fn a_404_can_mean_a_missing_resource_only_where_one_is_named() {
        let id: UserId = "5f0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        let gid: GroupId = "6a0c1a2b3c4d5e6f7a8b9c0d".parse().unwrap();
        let name: GroupName = "New Hires".parse().unwrap();
        #[rustfmt::skip]
        let table: Vec<(Route<'_>, bool)> = vec![
            (Route::GetUser { id: &id }, true),
            (Route::ExpirePassword { id: &id }, true),
            (Route::UserGroupMembers { group_id: &gid, skip: 0 }, true),
            // The body names the user to mail.
            (Route::Reactivate, true),
            (Route::SearchUsers, false),
            (Route::UserGroupsByName { name: &name, skip: 0 }, false),
            (Route::UserGroupsSearch { search: Some("New"), limit: 100, skip: 0 }, false),
        ];
        for (route, named) in table {
            assert_eq!(route.names_a_resource(), named, "{route:?}");
        }
    }
}
