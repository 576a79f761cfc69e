//! The simulated organisations, keys, users and groups, and their JSON renderings.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{Map, Value, json};

/// A user's `state` as JumpCloud reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserState {
    /// Created but not yet activated by an administrator: cannot log in.
    Staged,
    /// The normal state (the user may still be pending: see `activated`).
    Activated,
    /// Suspended by an administrator.
    Suspended,
}

impl UserState {
    /// The wire value (`STAGED`, `ACTIVATED`, `SUSPENDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Staged => "STAGED",
            UserState::Activated => "ACTIVATED",
            UserState::Suspended => "SUSPENDED",
        }
    }
}

/// A snapshot of one simulated user, for tests to find ids and check effects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserView {
    /// The 24-hex `_id`.
    pub id: String,
    /// The organisation the user belongs to.
    pub org_id: String,
    /// The username.
    pub username: String,
    /// The primary email.
    pub email: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// False while the user has not set a password yet ("pending").
    pub activated: bool,
    /// The account state.
    pub state: UserState,
    /// The `suspended` flag.
    pub suspended: bool,
    /// The `account_locked` flag.
    pub account_locked: bool,
    /// The `password_expired` flag.
    pub password_expired: bool,
    /// When the user was created.
    pub created: DateTime<Utc>,
}

/// A snapshot of one simulated user group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupView {
    /// The 24-hex `id`.
    pub id: String,
    /// The organisation the group belongs to.
    pub org_id: String,
    /// The group's name.
    pub name: String,
    /// Member user ids, in `_id` order.
    pub member_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct OrgRec {
    pub(crate) id: String,
    pub(crate) name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct UserRec {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) firstname: String,
    pub(crate) lastname: String,
    pub(crate) displayname: String,
    pub(crate) alternate_email: Option<String>,
    pub(crate) activated: bool,
    pub(crate) state: UserState,
    pub(crate) suspended: bool,
    pub(crate) account_locked: bool,
    pub(crate) password_expired: bool,
    pub(crate) password_never_expires: bool,
    pub(crate) created: DateTime<Utc>,
    pub(crate) password_expiration_date: Option<DateTime<Utc>>,
    pub(crate) unix_uid: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct GroupRec {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) member_ids: Vec<String>,
}

/// Everything the simulator knows. Maps are keyed by id, so iteration is in `_id` order.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) orgs: Vec<OrgRec>,
    pub(crate) keys: HashMap<String, Vec<String>>,
    pub(crate) users: BTreeMap<String, UserRec>,
    pub(crate) groups: BTreeMap<String, GroupRec>,
}

impl Store {
    pub(crate) fn org_exists(&self, id: &str) -> bool {
        self.orgs.iter().any(|org| org.id == id)
    }

    pub(crate) fn user_in_org(&self, org_id: &str, id: &str) -> Option<&UserRec> {
        self.users.get(id).filter(|user| user.org_id == org_id)
    }

    pub(crate) fn group_in_org(&self, org_id: &str, id: &str) -> Option<&GroupRec> {
        self.groups.get(id).filter(|group| group.org_id == org_id)
    }

    pub(crate) fn users_of(&self, org_id: &str) -> impl Iterator<Item = &UserRec> {
        let org_id = org_id.to_owned();
        self.users
            .values()
            .filter(move |user| user.org_id == org_id)
    }

    pub(crate) fn groups_of(&self, org_id: &str) -> impl Iterator<Item = &GroupRec> {
        let org_id = org_id.to_owned();
        self.groups
            .values()
            .filter(move |group| group.org_id == org_id)
    }
}

/// Whether `value` looks like a MongoDB ObjectId: exactly 24 hex digits.
pub(crate) fn is_object_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A deterministic ObjectId-shaped id: a fixed 4-hex prefix per kind, then a counter.
/// Ids of one kind sort in creation order.
pub(crate) fn object_id(prefix: u16, counter: u64) -> String {
    format!("{prefix:04x}{counter:020x}")
}

/// JumpCloud's date format (JavaScript `toISOString`).
pub(crate) fn format_date(date: DateTime<Utc>) -> String {
    date.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// How long a password lives in the simulated organisation's policy.
const PASSWORD_LIFETIME_DAYS: i64 = 90;

impl UserRec {
    /// The date the user last set a password: an hour after creation, or never if pending.
    fn password_date(&self) -> Option<DateTime<Utc>> {
        self.activated
            .then(|| self.created + ChronoDuration::hours(1))
    }

    /// When the password expires (or expired); `None` while pending or never-expiring.
    pub(crate) fn effective_password_expiration(&self) -> Option<DateTime<Utc>> {
        if let Some(date) = self.password_expiration_date {
            return Some(date);
        }
        if self.password_never_expires {
            return None;
        }
        self.password_date()
            .map(|date| date + ChronoDuration::days(PASSWORD_LIFETIME_DAYS))
    }

    /// The full `systemuserreturn` object, as `GET /systemusers/{id}` returns it.
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let date = |d: Option<DateTime<Utc>>| d.map_or(Value::Null, |d| json!(format_date(d)));
        let identity = json!({
            "_id": self.id,
            "username": self.username,
            "email": self.email,
            "firstname": self.firstname,
            "middlename": "",
            "lastname": self.lastname,
            "displayname": self.displayname,
            "organization": self.org_id,
            "created": format_date(self.created),
            "unix_uid": self.unix_uid,
            "unix_guid": self.unix_uid,
        });
        let account = json!({
            "activated": self.activated,
            "state": self.state.as_str(),
            "suspended": self.suspended,
            "account_locked": self.account_locked,
            "account_locked_date": date(self.account_locked.then_some(self.created)),
            "password_expired": self.password_expired,
            "password_never_expires": self.password_never_expires,
            "password_date": date(self.password_date()),
            "password_expiration_date": date(self.effective_password_expiration()),
            "badLoginAttempts": 0,
        });
        let settings = json!({
            "allow_public_key": true,
            "sudo": false,
            "passwordless_sudo": false,
            "enable_managed_uid": false,
            "enable_user_portal_multifactor": false,
            "externally_managed": false,
            "ldap_binding_user": false,
            "samba_service_user": false,
            "totp_enabled": false,
            "mfa": { "configured": false, "exclusion": false },
        });
        let profile = json!({
            "company": "",
            "department": "",
            "jobTitle": "",
            "description": "",
            "location": "",
            "addresses": [],
            "phoneNumbers": [],
            "attributes": [],
            "ssh_keys": [],
            "restrictedFields": [],
        });
        let mut doc = Map::new();
        for part in [identity, account, settings, profile] {
            if let Value::Object(map) = part {
                doc.extend(map);
            }
        }
        if let Some(alternate) = &self.alternate_email {
            doc.insert("alternateEmail".to_owned(), json!(alternate));
        }
        doc
    }

    pub(crate) fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            org_id: self.org_id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            firstname: self.firstname.clone(),
            lastname: self.lastname.clone(),
            activated: self.activated,
            state: self.state,
            suspended: self.suspended,
            account_locked: self.account_locked,
            password_expired: self.password_expired,
            created: self.created,
        }
    }
}

impl GroupRec {
    /// The `UserGroup` object, as `GET /v2/usergroups/{id}` returns it.
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let doc = json!({
            "id": self.id,
            "name": self.name,
            "type": "user_group",
            "description": self.description,
            "email": "",
            "attributes": {},
            "membershipMethod": "STATIC",
            "memberQueryExemptions": [],
            "memberSuggestionsNotify": false,
            "organizationObjectId": self.org_id,
        });
        match doc {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    pub(crate) fn view(&self) -> GroupView {
        GroupView {
            id: self.id.clone(),
            org_id: self.org_id.clone(),
            name: self.name.clone(),
            member_ids: self.member_ids.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_24_hex_and_sort_in_counter_order() {
        let a = object_id(0x5f0c, 9);
        let b = object_id(0x5f0c, 10);
        assert!(is_object_id(&a) && is_object_id(&b));
        assert!(a < b);
        assert!(!is_object_id("5f0c"));
        assert!(!is_object_id("zz0c1a2b3c4d5e6f7a8b9c0d"));
    }

    #[test]
    fn pending_users_have_no_password_dates() {
        let created = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut user = UserRec {
            id: object_id(1, 1),
            org_id: object_id(2, 1),
            username: "jane.doe".into(),
            email: "jane.doe@example.com".into(),
            firstname: "Jane".into(),
            lastname: "Doe".into(),
            displayname: "Jane Doe".into(),
            alternate_email: None,
            activated: false,
            state: UserState::Activated,
            suspended: false,
            account_locked: false,
            password_expired: false,
            password_never_expires: false,
            created,
            password_expiration_date: None,
            unix_uid: 5001,
        };
        let doc = user.to_json();
        assert_eq!(doc["password_date"], Value::Null);
        assert_eq!(doc["password_expiration_date"], Value::Null);
        assert_eq!(doc["created"], json!("2026-01-02T03:04:05.000Z"));

        user.activated = true;
        let doc = user.to_json();
        assert_eq!(doc["password_date"], json!("2026-01-02T04:04:05.000Z"));
        assert_eq!(
            doc["password_expiration_date"],
            json!("2026-04-02T04:04:05.000Z")
        );
    }
}
