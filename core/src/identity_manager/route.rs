//! The Identity Manager routes this client calls: method, path template and path, in one place.
//!
//! Path parameters are typed ids (digits and `-` only) and still go through percent-encoding
//! here, the one place a path is built.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;

use super::ids::{AssignedResourceTypeId, ResourceTypeMappingId};

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An Identity Manager endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /.well-known/openid-configuration` (F12).
    Discovery,
    /// `POST <token_endpoint>`, `/connect/token` by default (F13).
    Token,
    /// `GET /api/Connectors/Mapping/ResourceTypeMapping/{id}` (F14, F22).
    ResourceTypeMapping(ResourceTypeMappingId),
    /// `GET /api/Connectors/Mapping/PasswordResetSetting` (F14, F22).
    PasswordResetSettings,
    /// `GET /api/ProvisioningPolicy/AssignedResourceType/{id}` (F15).
    AssignedResourceType(AssignedResourceTypeId),
}

impl Route {
    /// The HTTP method.
    pub(crate) fn method(self) -> Method {
        match self {
            Self::Token => Method::POST,
            _ => Method::GET,
        }
    }

    /// The path template, for spans and errors (no ids, no query).
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::Discovery => "/.well-known/openid-configuration",
            Self::Token => "/connect/token",
            Self::ResourceTypeMapping(_) => "/api/Connectors/Mapping/ResourceTypeMapping/{id}",
            Self::PasswordResetSettings => "/api/Connectors/Mapping/PasswordResetSetting",
            Self::AssignedResourceType(_) => "/api/ProvisioningPolicy/AssignedResourceType/{id}",
        }
    }

    /// The path below the `ApplicationUri`, ids percent-encoded.
    pub(crate) fn path(self) -> String {
        let id = |id: i64| utf8_percent_encode(&id.to_string(), SEGMENT).to_string();
        match self {
            Self::ResourceTypeMapping(mapping) => {
                format!(
                    "/api/Connectors/Mapping/ResourceTypeMapping/{}",
                    id(mapping.get())
                )
            }
            Self::AssignedResourceType(art) => {
                format!(
                    "/api/ProvisioningPolicy/AssignedResourceType/{}",
                    id(art.get())
                )
            }
            other => other.template().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_templates() {
        let table = [
            (
                Route::ResourceTypeMapping(ResourceTypeMappingId::new(10)),
                "GET",
                "/api/Connectors/Mapping/ResourceTypeMapping/10",
            ),
            (
                Route::AssignedResourceType(AssignedResourceTypeId::new(-41)),
                "GET",
                "/api/ProvisioningPolicy/AssignedResourceType/-41",
            ),
            (
                Route::PasswordResetSettings,
                "GET",
                "/api/Connectors/Mapping/PasswordResetSetting",
            ),
            (Route::Token, "POST", "/connect/token"),
            (Route::Discovery, "GET", "/.well-known/openid-configuration"),
        ];
        for (route, method, path) in table {
            assert_eq!(route.method().as_str(), method);
            assert_eq!(route.path(), path);
            assert!(!route.template().contains(char::is_numeric));
        }
    }
}
