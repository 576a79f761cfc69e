//! Seed data: organisations, API keys, users and groups, and the realistic default seed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};

use super::JumpCloudSimBuilder;
use super::error::SimError;
use super::state::{GroupRec, OrgRec, Store, UserRec, UserState, is_object_id, object_id};

/// The organisation of [`default_seed`] (and of builders that declare none).
pub const DEFAULT_ORG_ID: &str = "5a1b2c3d4e5f6a7b8c9d0e1f";
/// The API key of [`default_seed`], bound to [`DEFAULT_ORG_ID`].
pub const DEFAULT_API_KEY: &str = "sim-jumpcloud-api-key";

/// Id prefix of generated user ids (`5f0c…`).
const USER_ID_PREFIX: u16 = 0x5f0c;
/// Id prefix of generated group ids (`6a1b…`).
const GROUP_ID_PREFIX: u16 = 0x6a1b;

/// An organisation (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSeed {
    id: String,
    name: String,
}

impl OrgSeed {
    /// An organisation with a 24-hex id and a display name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// A user to seed. Defaults: active (`activated: true`, state `ACTIVATED`), email
/// `<username>@example.com`, names derived from `first.last`, created 2024-01-15T09:00:00Z,
/// in the first organisation declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSeed {
    username: String,
    id: Option<String>,
    org: Option<String>,
    email: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    alternate_email: Option<String>,
    activated: bool,
    state: UserState,
    suspended: bool,
    account_locked: bool,
    password_expired: bool,
    password_never_expires: bool,
    created: Option<DateTime<Utc>>,
}

fn capitalise(part: &str) -> String {
    let mut chars = part.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl UserSeed {
    /// An active user with this username.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            id: None,
            org: None,
            email: None,
            firstname: None,
            lastname: None,
            alternate_email: None,
            activated: true,
            state: UserState::Activated,
            suspended: false,
            account_locked: false,
            password_expired: false,
            password_never_expires: false,
            created: None,
        }
    }

    /// A fixed `_id` (24 hex) instead of a generated one.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The organisation the user belongs to.
    pub fn org(mut self, org_id: impl Into<String>) -> Self {
        self.org = Some(org_id.into());
        self
    }

    /// The primary email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// First and last name.
    pub fn names(mut self, firstname: impl Into<String>, lastname: impl Into<String>) -> Self {
        self.firstname = Some(firstname.into());
        self.lastname = Some(lastname.into());
        self
    }

    /// An `alternateEmail`.
    pub fn alternate_email(mut self, email: impl Into<String>) -> Self {
        self.alternate_email = Some(email.into());
        self
    }

    /// Pending: has not set a password yet (`activated: false`, state `ACTIVATED`).
    pub fn pending(mut self) -> Self {
        self.activated = false;
        self.state = UserState::Activated;
        self.suspended = false;
        self
    }

    /// Active: has a password (`activated: true`, state `ACTIVATED`, not suspended).
    pub fn active(mut self) -> Self {
        self.activated = true;
        self.state = UserState::Activated;
        self.suspended = false;
        self
    }

    /// Staged: created but not yet activated by an administrator.
    pub fn staged(mut self) -> Self {
        self.activated = false;
        self.state = UserState::Staged;
        self.suspended = false;
        self
    }

    /// Suspended (state `SUSPENDED`, `suspended: true`).
    pub fn suspended(mut self) -> Self {
        self.state = UserState::Suspended;
        self.suspended = true;
        self
    }

    /// Locked out (`account_locked: true`).
    pub fn locked(mut self) -> Self {
        self.account_locked = true;
        self
    }

    /// Password already expired (`password_expired: true`).
    pub fn password_expired(mut self) -> Self {
        self.password_expired = true;
        self
    }

    /// Password never expires.
    pub fn password_never_expires(mut self) -> Self {
        self.password_never_expires = true;
        self
    }

    /// The creation date.
    pub fn created(mut self, created: DateTime<Utc>) -> Self {
        self.created = Some(created);
        self
    }

    /// Created this many days before now.
    pub fn created_days_ago(self, days: i64) -> Self {
        self.created(Utc::now() - ChronoDuration::days(days))
    }
}

/// A user group, members named by username (in the group's organisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSeed {
    name: String,
    id: Option<String>,
    org: Option<String>,
    description: String,
    members: Vec<String>,
}

impl GroupSeed {
    /// An empty group with this name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id: None,
            org: None,
            description: String::new(),
            members: Vec::new(),
        }
    }

    /// A fixed `id` (24 hex) instead of a generated one.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The organisation the group belongs to.
    pub fn org(mut self, org_id: impl Into<String>) -> Self {
        self.org = Some(org_id.into());
        self
    }

    /// A description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds members by username.
    pub fn members<S: Into<String>>(mut self, usernames: impl IntoIterator<Item = S>) -> Self {
        self.members.extend(usernames.into_iter().map(Into::into));
        self
    }
}

impl JumpCloudSimBuilder {
    /// Adds members (by username) to the group of that name already declared with
    /// [`group`](Self::group) (the first one, if several organisations have one), e.g. to grow
    /// a group of [`default_seed`]; declares the group, empty and in the first organisation,
    /// when there is none yet. Members are checked at [`start`](Self::start) as usual.
    pub fn add_group_members<S: Into<String>>(
        mut self,
        group: &str,
        usernames: impl IntoIterator<Item = S>,
    ) -> Self {
        let index = match self.groups.iter().position(|seed| seed.name == group) {
            Some(index) => index,
            None => {
                self.groups.push(GroupSeed::new(group));
                self.groups.len() - 1
            }
        };
        if let Some(seed) = self.groups.get_mut(index) {
            seed.members.extend(usernames.into_iter().map(Into::into));
        }
        self
    }
}

/// `n` active users named `<prefix>.0000`, `<prefix>.0001`, … (for paging and bulk tests).
pub fn generated_users(prefix: &str, n: usize) -> impl Iterator<Item = UserSeed> + use<> {
    let prefix = prefix.to_owned();
    (0..n).map(move |i| UserSeed::new(format!("{prefix}.{i:04}")))
}

/// A small, realistic organisation: [`DEFAULT_ORG_ID`] ("Acme") with key
/// [`DEFAULT_API_KEY`], users in every state, and groups including `NewUsers`.
///
/// | username | state |
/// |---|---|
/// | `jcuser.one` | pending, created 2 days ago (the cmdlet's example) |
/// | `maria.garcia` | pending, created 3 days ago |
/// | `new.hire1`, `new.hire2` | pending, created yesterday |
/// | `li.wei` | pending, created 30 days ago |
/// | `jane.doe` | active, has an alternate email |
/// | `john.smith` | active, locked |
/// | `priya.patel` | active, password expired |
/// | `omar.haddad` | active, password never expires |
/// | `sam.taylor` | suspended |
/// | `alex.morgan` | staged |
///
/// Groups: `NewUsers` (the four recent pending users and `sam.taylor`), `IT` (`jane.doe`,
/// `john.smith`), `All Staff` (everyone), `Contractors` (empty).
pub fn default_seed() -> JumpCloudSimBuilder {
    let recent_pending = ["jcuser.one", "maria.garcia", "new.hire1", "new.hire2"];
    let everyone = [
        "jcuser.one",
        "maria.garcia",
        "new.hire1",
        "new.hire2",
        "li.wei",
        "jane.doe",
        "john.smith",
        "priya.patel",
        "omar.haddad",
        "sam.taylor",
        "alex.morgan",
    ];
    JumpCloudSimBuilder::default()
        .org(OrgSeed::new(DEFAULT_ORG_ID, "Acme"))
        .api_key(DEFAULT_API_KEY, [DEFAULT_ORG_ID])
        .user(
            UserSeed::new("jcuser.one")
                .names("JC", "User One")
                .pending()
                .created_days_ago(2),
        )
        .user(UserSeed::new("maria.garcia").pending().created_days_ago(3))
        .user(
            UserSeed::new("new.hire1")
                .names("Noor", "Hire")
                .pending()
                .created_days_ago(1),
        )
        .user(
            UserSeed::new("new.hire2")
                .names("Nils", "Hire")
                .pending()
                .created_days_ago(1),
        )
        .user(UserSeed::new("li.wei").pending().created_days_ago(30))
        .user(
            UserSeed::new("jane.doe")
                .alternate_email("jane.personal@example.net")
                .created_days_ago(400),
        )
        .user(UserSeed::new("john.smith").locked().created_days_ago(300))
        .user(
            UserSeed::new("priya.patel")
                .password_expired()
                .created_days_ago(200),
        )
        .user(
            UserSeed::new("omar.haddad")
                .password_never_expires()
                .created_days_ago(100),
        )
        .user(UserSeed::new("sam.taylor").suspended().created_days_ago(5))
        .user(UserSeed::new("alex.morgan").staged().created_days_ago(4))
        .group(
            GroupSeed::new("NewUsers")
                .description("Accounts created for this month's starters")
                .members(recent_pending)
                .members(["sam.taylor"]),
        )
        .group(GroupSeed::new("IT").members(["jane.doe", "john.smith"]))
        .group(GroupSeed::new("All Staff").members(everyone))
        .group(GroupSeed::new("Contractors"))
}

fn seed_error(message: String) -> SimError {
    SimError::Seed(message)
}

fn explicit_id(id: &str, what: &str) -> Result<String, SimError> {
    if is_object_id(id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(seed_error(format!("{what} id '{id}' is not 24 hex digits")))
    }
}

/// Turns the builder's seeds into the simulator's store, checking them for consistency.
pub(crate) fn build_store(
    orgs: Vec<OrgSeed>,
    keys: Vec<(String, Vec<String>)>,
    users: Vec<UserSeed>,
    groups: Vec<GroupSeed>,
) -> Result<Store, SimError> {
    let mut store = Store::default();
    let orgs = if orgs.is_empty() {
        vec![OrgSeed::new(DEFAULT_ORG_ID, "Acme")]
    } else {
        orgs
    };
    for org in orgs {
        let id = explicit_id(&org.id, "organisation")?;
        if store.org_exists(&id) {
            return Err(seed_error(format!("organisation {id} declared twice")));
        }
        store.orgs.push(OrgRec { id, name: org.name });
    }
    let default_org = store
        .orgs
        .first()
        .map(|org| org.id.clone())
        .ok_or_else(|| seed_error("no organisation".into()))?;
    let org_of = |store: &Store, org: Option<String>| -> Result<String, SimError> {
        let id = match org {
            Some(org) => explicit_id(&org, "organisation")?,
            None => default_org.clone(),
        };
        if store.org_exists(&id) {
            Ok(id)
        } else {
            Err(seed_error(format!("organisation {id} is not declared")))
        }
    };

    for (key, key_orgs) in keys {
        if key.is_empty() {
            return Err(seed_error("an API key is empty".into()));
        }
        if key_orgs.is_empty() {
            return Err(seed_error(format!(
                "API key '{key}' is bound to no organisation"
            )));
        }
        let mut bound = Vec::with_capacity(key_orgs.len());
        for org in key_orgs {
            bound.push(org_of(&store, Some(org))?);
        }
        store.keys.insert(key, bound);
    }

    // (org, lower-cased username) → id, for uniqueness and group membership.
    let mut usernames: HashMap<(String, String), String> = HashMap::new();
    let base_created = Utc
        .with_ymd_and_hms(2024, 1, 15, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    for (counter, seed) in (1_u64..).zip(users) {
        let org_id = org_of(&store, seed.org)?;
        if seed.username.is_empty() {
            return Err(seed_error("a user has an empty username".into()));
        }
        let key = (org_id.clone(), seed.username.to_lowercase());
        if usernames.contains_key(&key) {
            return Err(seed_error(format!(
                "username '{}' appears twice in organisation {org_id}",
                seed.username
            )));
        }
        let id = match seed.id {
            Some(id) => explicit_id(&id, "user")?,
            None => object_id(USER_ID_PREFIX, counter),
        };
        if store.users.contains_key(&id) {
            return Err(seed_error(format!("user id {id} used twice")));
        }
        let mut parts = seed.username.splitn(2, '.');
        let firstname = seed
            .firstname
            .unwrap_or_else(|| capitalise(parts.next().unwrap_or_default()));
        let lastname = seed
            .lastname
            .unwrap_or_else(|| capitalise(parts.next().unwrap_or_default()));
        let user = UserRec {
            id: id.clone(),
            org_id,
            email: seed
                .email
                .unwrap_or_else(|| format!("{}@example.com", seed.username)),
            displayname: format!("{firstname} {lastname}").trim().to_owned(),
            firstname,
            lastname,
            username: seed.username,
            alternate_email: seed.alternate_email,
            activated: seed.activated,
            state: seed.state,
            suspended: seed.suspended,
            account_locked: seed.account_locked,
            password_expired: seed.password_expired,
            password_never_expires: seed.password_never_expires,
            created: seed.created.unwrap_or(base_created),
            password_expiration_date: None,
            unix_uid: 5000 + u32::try_from(counter).unwrap_or(u32::MAX - 5000),
        };
        usernames.insert(key, id.clone());
        store.users.insert(id, user);
    }

    let mut names: HashSet<(String, String)> = HashSet::new();
    for (counter, seed) in (1_u64..).zip(groups) {
        let org_id = org_of(&store, seed.org)?;
        if seed.name.is_empty() {
            return Err(seed_error("a group has an empty name".into()));
        }
        if !names.insert((org_id.clone(), seed.name.clone())) {
            return Err(seed_error(format!(
                "group '{}' appears twice in organisation {org_id}",
                seed.name
            )));
        }
        let id = match seed.id {
            Some(id) => explicit_id(&id, "group")?,
            None => object_id(GROUP_ID_PREFIX, counter),
        };
        if store.groups.contains_key(&id) {
            return Err(seed_error(format!("group id {id} used twice")));
        }
        let mut member_ids = Vec::with_capacity(seed.members.len());
        for username in &seed.members {
            let member = usernames
                .get(&(org_id.clone(), username.to_lowercase()))
                .ok_or_else(|| {
                    seed_error(format!(
                        "group '{}' names unknown user '{username}'",
                        seed.name
                    ))
                })?;
            member_ids.push(member.clone());
        }
        member_ids.sort();
        member_ids.dedup();
        store.groups.insert(
            id.clone(),
            GroupRec {
                id,
                org_id,
                name: seed.name,
                description: seed.description,
                member_ids,
            },
        );
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER_ORG: &str = "5a1b2c3d4e5f6a7b8c9d0e20";

    #[test]
    fn users_get_ordered_ids_default_fields_and_group_members_resolve() {
        let store = build_store(
            vec![],
            vec![("k".into(), vec![DEFAULT_ORG_ID.into()])],
            vec![UserSeed::new("jane.doe"), UserSeed::new("bob").pending()],
            vec![GroupSeed::new("G").members(["bob", "JANE.DOE", "bob"])],
        )
        .unwrap();
        let users: Vec<&UserRec> = store.users.values().collect();
        assert_eq!(users[0].username, "jane.doe");
        assert_eq!(users[0].email, "jane.doe@example.com");
        assert_eq!(
            (users[0].firstname.as_str(), users[0].lastname.as_str()),
            ("Jane", "Doe")
        );
        assert!(users[0].id < users[1].id);
        assert!(!users[1].activated);
        let group = store.groups.values().next().unwrap();
        assert_eq!(
            group.member_ids,
            vec![users[0].id.clone(), users[1].id.clone()]
        );
    }

    #[test]
    fn inconsistent_seeds_are_refused_with_a_reason() {
        let cases = [
            build_store(vec![OrgSeed::new("acme", "Acme")], vec![], vec![], vec![]),
            build_store(
                vec![],
                vec![("k".into(), vec![OTHER_ORG.into()])],
                vec![],
                vec![],
            ),
            build_store(vec![], vec![("k".into(), vec![])], vec![], vec![]),
            build_store(
                vec![],
                vec![],
                vec![UserSeed::new("a"), UserSeed::new("A")],
                vec![],
            ),
            build_store(
                vec![],
                vec![],
                vec![UserSeed::new("a").org(OTHER_ORG)],
                vec![],
            ),
            build_store(vec![], vec![], vec![UserSeed::new("a").id("nope")], vec![]),
            build_store(
                vec![],
                vec![],
                vec![],
                vec![GroupSeed::new("G").members(["ghost"])],
            ),
            build_store(
                vec![],
                vec![],
                vec![],
                vec![GroupSeed::new("G"), GroupSeed::new("G")],
            ),
        ];
        for (i, result) in cases.into_iter().enumerate() {
            assert!(
                matches!(result, Err(SimError::Seed(_))),
                "case {i} should be refused"
            );
        }
    }

    #[test]
    fn group_members_must_be_in_the_group_org() {
        let result = build_store(
            vec![
                OrgSeed::new(DEFAULT_ORG_ID, "Acme"),
                OrgSeed::new(OTHER_ORG, "Globex"),
            ],
            vec![],
            vec![UserSeed::new("a").org(OTHER_ORG)],
            vec![GroupSeed::new("G").members(["a"])],
        );
        assert!(matches!(result, Err(SimError::Seed(message)) if message.contains("'a'")));
    }

    #[test]
    fn add_group_members_grows_a_declared_group_or_declares_it() {
        let builder = default_seed()
            .add_group_members("NewUsers", ["li.wei"])
            .add_group_members("Night Shift", ["jane.doe"]);
        let store = build_store(builder.orgs, builder.keys, builder.users, builder.groups).unwrap();
        let members_of = |name: &str| -> Vec<String> {
            let group = store.groups.values().find(|g| g.name == name).unwrap();
            group
                .member_ids
                .iter()
                .map(|id| store.users[id].username.clone())
                .collect()
        };
        let new_users = members_of("NewUsers");
        assert_eq!(new_users.len(), 6, "{new_users:?}");
        assert!(new_users.contains(&"li.wei".to_owned()));
        assert_eq!(members_of("Night Shift"), ["jane.doe"]);
        assert_eq!(
            store
                .groups
                .values()
                .filter(|g| g.name == "NewUsers")
                .count(),
            1,
            "the existing group grows, no second one is declared"
        );
    }

    #[test]
    fn generated_users_are_numbered() {
        let names: Vec<String> = generated_users("bulk", 3)
            .map(|seed| seed.username)
            .collect();
        assert_eq!(names, ["bulk.0000", "bulk.0001", "bulk.0002"]);
    }
}
