//! Slack puts no group membership in any payload: the actor's roles are the configured user
//! groups (`[groups.*] slack_usergroups`) they are in, looked up with
//! `usergroups.users.list` (Tier 2, ~20 calls a minute) behind a short-TTL cache.
//!
//! - A group's members are cached for [`DEFAULT_TTL`]; a stale entry is refreshed on use.
//! - **Refreshed on miss**: a user not in a fresh entry triggers one refresh of that group (so
//!   someone just added does not wait for the TTL), at most once per [`DEFAULT_MISS_REFRESH`]
//!   per group, so denied users cannot drive Slack into rate limiting.
//! - Concurrent refreshes of one group are single-flight (one call, the others wait for it).
//! - **Fails closed**: a group that cannot be read (Slack error, free plan's
//!   `plan_upgrade_required`) and has no fresh entry grants nothing; user-id rules
//!   (`slack_users`) still work, since the policy checks them from the actor id.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use passdesk_config::Config;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::warn;

use super::api::SlackApi;

/// How long a group's members are trusted without asking Slack again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// The least time between two refreshes of one group caused by a user not in it.
pub const DEFAULT_MISS_REFRESH: Duration = Duration::from_secs(10);

/// Where the members of a user group come from (the Web API; a map in tests).
pub trait MemberSource: Send + Sync + 'static {
    /// The user ids in `group`, or why they could not be read.
    fn members<'a>(
        &'a self,
        group: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<String>, super::api::ApiError>> + Send + 'a,
        >,
    >;
}

impl MemberSource for SlackApi {
    fn members<'a>(
        &'a self,
        group: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<String>, super::api::ApiError>> + Send + 'a,
        >,
    > {
        Box::pin(self.usergroup_members(group))
    }
}

struct Entry {
    members: HashSet<String>,
    fetched: Instant,
}

#[derive(Default)]
struct Slot {
    entry: std::sync::Mutex<Option<Arc<Entry>>>,
    /// Single flight: held while a refresh runs.
    refresh: Mutex<()>,
}

impl Slot {
    fn current(&self) -> Option<Arc<Entry>> {
        self.entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, entry: Arc<Entry>) {
        *self
            .entry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(entry);
    }
}

/// The user-group cache. Cheap to clone.
#[derive(Clone)]
pub struct Roles {
    inner: Arc<Inner>,
}

struct Inner {
    source: Arc<dyn MemberSource>,
    groups: Vec<String>,
    slots: DashMap<String, Arc<Slot>>,
    ttl: Duration,
    miss_refresh: Duration,
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roles")
            .field("groups", &self.inner.groups)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl Roles {
    /// A cache of the user groups `config` names, read from `source`.
    pub fn new(config: &Config, source: Arc<dyn MemberSource>) -> Self {
        let groups: BTreeSet<String> = config
            .groups
            .values()
            .flat_map(|g| g.slack_usergroups.iter().map(|s| s.as_str().to_owned()))
            .collect();
        Self::for_groups(groups.into_iter().collect(), source)
    }

    /// A cache of these user groups.
    pub fn for_groups(groups: Vec<String>, source: Arc<dyn MemberSource>) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                groups,
                slots: DashMap::new(),
                ttl: DEFAULT_TTL,
                miss_refresh: DEFAULT_MISS_REFRESH,
            }),
        }
    }

    /// The same cache with other timings (for tests).
    #[must_use]
    pub fn with_timings(self, ttl: Duration, miss_refresh: Duration) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                source: Arc::clone(&inner.source),
                groups: inner.groups.clone(),
                slots: DashMap::new(),
                ttl,
                miss_refresh,
            }),
        }
    }

    /// The configured user groups `user_id` is in, in configuration order.
    pub async fn of(&self, user_id: &str) -> Vec<String> {
        let mut roles = Vec::new();
        for group in &self.inner.groups {
            if self.is_member(group, user_id).await {
                roles.push(group.clone());
            }
        }
        roles
    }

    async fn is_member(&self, group: &str, user_id: &str) -> bool {
        let slot = Arc::clone(
            self.inner
                .slots
                .entry(group.to_owned())
                .or_default()
                .value(),
        );
        let now = Instant::now();
        if let Some(entry) = slot.current() {
            let age = now.saturating_duration_since(entry.fetched);
            if age < self.inner.ttl
                && (entry.members.contains(user_id) || age < self.inner.miss_refresh)
            {
                return entry.members.contains(user_id);
            }
        }
        let seen = slot.current().map(|e| e.fetched);
        let _flight = slot.refresh.lock().await;
        // Someone else refreshed while this waited: use theirs.
        if let Some(entry) = slot.current() {
            if Some(entry.fetched) != seen {
                return entry.members.contains(user_id);
            }
        }
        match self.inner.source.members(group).await {
            Ok(members) => {
                let entry = Arc::new(Entry {
                    members: members.into_iter().collect(),
                    fetched: Instant::now(),
                });
                let member = entry.members.contains(user_id);
                slot.set(entry);
                member
            }
            Err(e) => {
                warn!(group, error = %e, "slack user group could not be read; it grants nothing");
                // A fresh entry is still trusted; a stale one is not (fail closed).
                slot.current().is_some_and(|entry| {
                    Instant::now().saturating_duration_since(entry.fetched) < self.inner.ttl
                        && entry.members.contains(user_id)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::api::ApiError;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Fake {
        members: std::sync::Mutex<Vec<String>>,
        fail: std::sync::atomic::AtomicBool,
        calls: AtomicUsize,
    }

    impl MemberSource for Fake {
        fn members<'a>(
            &'a self,
            _group: &'a str,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Vec<String>, ApiError>> + Send + 'a>,
        > {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let result = if self.fail.load(Ordering::SeqCst) {
                Err(ApiError::Slack {
                    method: "usergroups.users.list",
                    code: "plan_upgrade_required".to_owned(),
                })
            } else {
                Ok(self.members.lock().unwrap().clone())
            };
            Box::pin(async move { result })
        }
    }

    fn roles(fake: &Arc<Fake>) -> Roles {
        Roles::for_groups(
            vec!["S0HELPDESK".to_owned()],
            Arc::clone(fake) as Arc<dyn MemberSource>,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn members_are_cached_refreshed_on_a_miss_at_a_bounded_rate_and_after_the_ttl() {
        let fake = Arc::new(Fake::default());
        *fake.members.lock().unwrap() = vec!["U1".to_owned()];
        let roles = roles(&fake);
        assert_eq!(roles.of("U1").await, ["S0HELPDESK"]);
        assert_eq!(roles.of("U1").await, ["S0HELPDESK"]);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "cached");
        // U2 is added in Slack: a miss right away does not call again (bounded)…
        fake.members.lock().unwrap().push("U2".to_owned());
        assert!(roles.of("U2").await.is_empty());
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        // …but after the miss interval it refreshes and finds them.
        tokio::time::advance(DEFAULT_MISS_REFRESH).await;
        assert_eq!(roles.of("U2").await, ["S0HELPDESK"]);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        // U1 removed: still trusted until the TTL, then gone.
        fake.members.lock().unwrap().retain(|u| u != "U1");
        assert_eq!(roles.of("U1").await, ["S0HELPDESK"]);
        tokio::time::advance(DEFAULT_TTL).await;
        assert!(roles.of("U1").await.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreadable_group_grants_nothing_once_its_entry_is_stale() {
        let fake = Arc::new(Fake::default());
        *fake.members.lock().unwrap() = vec!["U1".to_owned()];
        fake.fail.store(true, Ordering::SeqCst);
        let roles = roles(&fake);
        assert!(
            roles.of("U1").await.is_empty(),
            "cold cache and an error: deny"
        );
        fake.fail.store(false, Ordering::SeqCst);
        tokio::time::advance(DEFAULT_MISS_REFRESH).await;
        assert_eq!(roles.of("U1").await, ["S0HELPDESK"]);
        fake.fail.store(true, Ordering::SeqCst);
        tokio::time::advance(DEFAULT_TTL).await;
        assert!(roles.of("U1").await.is_empty(), "stale and an error: deny");
    }

    #[tokio::test]
    async fn concurrent_look_ups_of_a_cold_group_make_one_call() {
        let fake = Arc::new(Fake::default());
        *fake.members.lock().unwrap() = vec!["U1".to_owned()];
        let roles = roles(&fake);
        let lookups = (0..20).map(|_| {
            let roles = roles.clone();
            tokio::spawn(async move { roles.of("U1").await })
        });
        for found in futures::future::join_all(lookups).await {
            assert_eq!(found.unwrap(), ["S0HELPDESK"]);
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    }
}
