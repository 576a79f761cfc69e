//! The simulated operations: one enum, one route table.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use http::Method;

use super::Shared;
use super::{gate, handlers};

/// One operation the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// v1 `GET /api/systemusers/{id}` (`User_Get`).
    GetUser,
    /// v1 `GET /api/systemusers` (`User_List`).
    ListUsers,
    /// v1 `POST /api/search/systemusers` (`User_Search`).
    SearchUsers,
    /// v1 `POST /api/systemusers/reactivate` (undocumented: the spec keeps only a stub path).
    ReactivateUsers,
    /// v1 `POST /api/systemusers/{id}/expire` (`ExpireUserPassword_POST`).
    ExpirePassword,
    /// v2 `GET /api/v2/usergroups` (`UserGroup_List`).
    ListUserGroups,
    /// v2 `GET /api/v2/usergroups/{id}` (`UserGroup_Get`).
    GetUserGroup,
    /// v2 `GET /api/v2/usergroups/{group_id}/members` (`UserGroupMembers_Get`).
    ListUserGroupMembers,
}

/// Which of JumpCloud's two APIs an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// Base path `/api/`.
    V1,
    /// Base path `/api/v2/`.
    V2,
}

impl Route {
    /// Every simulated operation.
    pub const ALL: [Route; 8] = [
        Route::GetUser,
        Route::ListUsers,
        Route::SearchUsers,
        Route::ReactivateUsers,
        Route::ExpirePassword,
        Route::ListUserGroups,
        Route::GetUserGroup,
        Route::ListUserGroupMembers,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Route::GetUser
            | Route::ListUsers
            | Route::ListUserGroups
            | Route::GetUserGroup
            | Route::ListUserGroupMembers => Method::GET,
            Route::SearchUsers | Route::ReactivateUsers | Route::ExpirePassword => Method::POST,
        }
    }

    /// The full path template, parameters named as in the spec (e.g. `/api/systemusers/{id}`).
    pub fn template(self) -> &'static str {
        match self {
            Route::GetUser => "/api/systemusers/{id}",
            Route::ListUsers => "/api/systemusers",
            Route::SearchUsers => "/api/search/systemusers",
            Route::ReactivateUsers => "/api/systemusers/reactivate",
            Route::ExpirePassword => "/api/systemusers/{id}/expire",
            Route::ListUserGroups => "/api/v2/usergroups",
            Route::GetUserGroup => "/api/v2/usergroups/{id}",
            Route::ListUserGroupMembers => "/api/v2/usergroups/{group_id}/members",
        }
    }

    /// The API the operation belongs to.
    pub fn api(self) -> ApiVersion {
        match self {
            Route::ListUserGroups | Route::GetUserGroup | Route::ListUserGroupMembers => {
                ApiVersion::V2
            }
            _ => ApiVersion::V1,
        }
    }

    /// The template relative to the spec's `basePath` (e.g. `/systemusers/{id}`).
    pub fn spec_path(self) -> &'static str {
        let template = self.template();
        let base = match self.api() {
            ApiVersion::V1 => "/api",
            ApiVersion::V2 => "/api/v2",
        };
        template.strip_prefix(base).unwrap_or(template)
    }

    /// The spec's `operationId`, or `None` for the undocumented `reactivate`.
    pub fn operation_id(self) -> Option<&'static str> {
        match self {
            Route::GetUser => Some("User_Get"),
            Route::ListUsers => Some("User_List"),
            Route::SearchUsers => Some("User_Search"),
            Route::ReactivateUsers => None,
            Route::ExpirePassword => Some("ExpireUserPassword_POST"),
            Route::ListUserGroups => Some("UserGroup_List"),
            Route::GetUserGroup => Some("UserGroup_Get"),
            Route::ListUserGroupMembers => Some("UserGroupMembers_Get"),
        }
    }

    /// The operation matching a method and a matched path template, if any.
    pub(crate) fn recognize(method: &Method, template: &str) -> Option<Route> {
        Route::ALL
            .into_iter()
            .find(|route| route.method() == *method && route.template() == template)
    }
}

/// The simulator's router: every route behind the gate (record, latency, faults, rate limit,
/// auth), unknown paths answered with JumpCloud's 404 body.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(Route::GetUser.template(), get(handlers::get_user))
        .route(Route::ListUsers.template(), get(handlers::list_users))
        .route(Route::SearchUsers.template(), post(handlers::search_users))
        .route(
            Route::ReactivateUsers.template(),
            post(handlers::reactivate),
        )
        .route(Route::ExpirePassword.template(), post(handlers::expire))
        .route(Route::ListUserGroups.template(), get(handlers::list_groups))
        .route(Route::GetUserGroup.template(), get(handlers::get_group))
        .route(
            Route::ListUserGroupMembers.template(),
            get(handlers::list_group_members),
        )
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::gate,
        ))
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_recognized_by_its_own_method_and_template_only() {
        for route in Route::ALL {
            assert_eq!(
                Route::recognize(&route.method(), route.template()),
                Some(route)
            );
            let other = if route.method() == Method::GET {
                Method::POST
            } else {
                Method::GET
            };
            assert_ne!(Route::recognize(&other, route.template()), Some(route));
        }
    }

    #[test]
    fn spec_paths_drop_the_base_path() {
        assert_eq!(Route::GetUser.spec_path(), "/systemusers/{id}");
        assert_eq!(
            Route::ListUserGroupMembers.spec_path(),
            "/usergroups/{group_id}/members"
        );
    }
}
