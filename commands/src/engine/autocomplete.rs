//! Directory suggestions while an option is typed (Discord's autocomplete): the same policy as
//! the command first, then a bounded, cached JumpCloud prefix look-up.
//!
//! ```text
//! autocomplete ─► catalogue: does this option autocomplete? ─► authorize (checks 1–3)
//!                   └─ no / denied / workspace not served: no suggestions (nothing is asked of JumpCloud)
//!              ─► cache (organisation, directory, lower-cased prefix), 10 s
//!                   └─ miss: a complete answer for a shorter prefix, narrowed here
//!              ─► JumpCloud prefix look-up, at most 1.5 s ─► at most 25 suggestions
//! ```
//!
//! The cache is the debounce: people type faster than JumpCloud should be asked, and Discord
//! sends one interaction per keystroke. Once a prefix has fewer than 25 matches, every longer
//! prefix is answered from them until they expire. A failed or slow look-up gives no
//! suggestions (logged at debug level) and is remembered for two seconds, so an outage is not
//! hammered either. Nothing here is audited: suggestions change nothing, and the command that
//! follows is authorised, audited and re-validated as usual.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use passdesk_core::jumpcloud::{self, JumpCloudClient, OrgId};
use tokio::time::Instant;
use tracing::{debug, instrument};

use super::{Engine, served_org};
use crate::catalogue::{self, OptionKind};
use crate::invocation::Actor;
use crate::policy::authorize;
use crate::request::{CommandName, shown};

/// The most suggestions returned (Discord's limit on autocomplete choices).
pub const MAX_SUGGESTIONS: usize = JumpCloudClient::MAX_PREFIX_RESULTS;
/// How long the directory may take to answer before there are no suggestions: half of
/// Discord's 3-second window, leaving room for the answer itself.
pub const AUTOCOMPLETE_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long an answer is reused.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// How long a failed or timed-out look-up is remembered (no suggestions meanwhile).
const FAILED_TTL: Duration = Duration::from_secs(2);
/// The most prefixes remembered; past it, expired ones are dropped, then everything.
const CACHE_CAP: usize = 4096;

/// One suggestion: what people see and the value the option receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// What the list shows.
    pub name: String,
    /// What the option is set to when it is picked.
    pub value: String,
}

impl Suggestion {
    fn same(text: &str) -> Self {
        Self {
            name: text.to_owned(),
            value: text.to_owned(),
        }
    }
}

/// Which directory an option draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Directory {
    Usernames,
    Groups,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    org: Option<OrgId>,
    directory: Directory,
    /// Lower-cased: both look-ups are case-insensitive.
    prefix: String,
}

#[derive(Debug, Clone)]
struct Entry {
    until: Instant,
    /// Whether `names` holds every match (the look-up succeeded with room to spare).
    complete: bool,
    names: Arc<[String]>,
}

/// Recent answers by (organisation, directory, prefix); see the module docs.
#[derive(Debug, Default)]
pub(crate) struct SuggestionCache {
    entries: DashMap<Key, Entry>,
}

impl SuggestionCache {
    /// The names for `key` still fresh at `now`: its own answer, or a complete answer for a
    /// shorter prefix narrowed to this one.
    fn get(&self, key: &Key, now: Instant) -> Option<Vec<String>> {
        if let Some(entry) = self.entries.get(key).filter(|e| e.until > now) {
            return Some(entry.names.to_vec());
        }
        let mut shorter = key.clone();
        while let Some((cut, _)) = shorter.prefix.char_indices().next_back() {
            shorter.prefix.truncate(cut);
            let Some(entry) = self
                .entries
                .get(&shorter)
                .filter(|e| e.until > now && e.complete)
            else {
                continue;
            };
            let names = entry
                .names
                .iter()
                .filter(|name| name.to_lowercase().starts_with(&key.prefix))
                .cloned()
                .collect();
            return Some(names);
        }
        None
    }

    /// Remembers an answer until `now + ttl`.
    fn put(&self, key: Key, names: &[String], complete: bool, ttl: Duration, now: Instant) {
        if self.entries.len() >= CACHE_CAP {
            self.entries.retain(|_, e| e.until > now);
            if self.entries.len() >= CACHE_CAP {
                self.entries.clear();
            }
        }
        self.entries.insert(
            key,
            Entry {
                until: now + ttl,
                complete,
                names: names.into(),
            },
        );
    }
}

impl Engine {
    /// Suggestions for the option `option` of `command` while `actor` types `partial` in
    /// `channel` of workspace `tenant`: JumpCloud usernames or user group names starting with
    /// it (case-insensitively), at most [`MAX_SUGGESTIONS`], answered within
    /// [`AUTOCOMPLETE_TIMEOUT`] plus a little.
    ///
    /// The command's policy is checked first, as for the command itself (enabled, the actor in
    /// one of its groups, the channel allowed; no cooldown is counted): anyone it would refuse,
    /// and any workspace Passdesk does not serve, gets no suggestions, so the directory is never
    /// shown to people who could not act on it. So do options that do not autocomplete, partial
    /// values that cannot start a username (a user id being typed) or a group name, and a
    /// JumpCloud that fails or is slower than the timeout. Answers are cached briefly (see the
    /// module docs).
    #[instrument(
        name = "engine.autocomplete",
        skip_all,
        fields(
            platform = %actor.platform,
            command = %shown(command),
            option = %shown(option),
            actor = %shown(&actor.id),
        )
    )]
    pub async fn autocomplete(
        &self,
        actor: &Actor,
        channel: Option<&str>,
        tenant: Option<&str>,
        command: &str,
        option: &str,
        partial: &str,
    ) -> Vec<Suggestion> {
        let Some(spec) = catalogue::command(command) else {
            return Vec::new();
        };
        let Some(option) = spec.autocomplete_option(option) else {
            return Vec::new();
        };
        let (directory, prefix) = match option.kind {
            OptionKind::UserRef => (Directory::Usernames, partial.trim()),
            OptionKind::GroupName => (Directory::Groups, partial.trim_start()),
            _ => return Vec::new(),
        };
        let Ok(name) = spec.name.parse::<CommandName>() else {
            return Vec::new();
        };
        let config = &*self.inner.config;
        if let Err(denial) = authorize(config, actor, channel, name) {
            debug!(code = denial.code(), "no suggestions: not authorised");
            return Vec::new();
        }
        let Some(org) = served_org(config, actor.platform, tenant) else {
            debug!("no suggestions: workspace not served");
            return Vec::new();
        };
        let Some(client) = self.inner.jumpcloud.for_org(org.as_ref()) else {
            debug!("no suggestions: no jumpcloud client for this workspace");
            return Vec::new();
        };

        let key = Key {
            org,
            directory,
            prefix: prefix.to_lowercase(),
        };
        let cache = &self.inner.suggestions;
        let names = match cache.get(&key, Instant::now()) {
            Some(names) => names,
            None => {
                let lookup = async {
                    match directory {
                        Directory::Usernames => {
                            client
                                .usernames_starting_with(prefix, MAX_SUGGESTIONS)
                                .await
                        }
                        Directory::Groups => {
                            client
                                .group_names_starting_with(prefix, MAX_SUGGESTIONS)
                                .await
                        }
                    }
                };
                let answer = tokio::time::timeout(AUTOCOMPLETE_TIMEOUT, lookup).await;
                let now = Instant::now();
                match answer {
                    Ok(Ok(names)) => {
                        let complete = names.len() < MAX_SUGGESTIONS;
                        cache.put(key, &names, complete, CACHE_TTL, now);
                        names
                    }
                    Ok(Err(jumpcloud::Error::InvalidInput(_))) => {
                        debug!("no suggestions: not the start of a name");
                        return Vec::new();
                    }
                    Ok(Err(error)) => {
                        debug!(%error, "no suggestions: the directory look-up failed");
                        cache.put(key, &[], false, FAILED_TTL, now);
                        return Vec::new();
                    }
                    Err(_) => {
                        debug!(
                            timeout_ms =
                                u64::try_from(AUTOCOMPLETE_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
                            "no suggestions: the directory look-up timed out"
                        );
                        cache.put(key, &[], false, FAILED_TTL, now);
                        return Vec::new();
                    }
                }
            }
        };
        names
            .iter()
            .take(MAX_SUGGESTIONS)
            .map(|name| Suggestion::same(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(prefix: &str) -> Key {
        Key {
            org: None,
            directory: Directory::Usernames,
            prefix: prefix.to_owned(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn fresh_answers_are_reused_and_expired_ones_are_not() {
        let cache = SuggestionCache::default();
        let t0 = Instant::now();
        cache.put(key("jc"), &names(&["jcuser.one"]), true, CACHE_TTL, t0);
        assert_eq!(cache.get(&key("jc"), t0), Some(names(&["jcuser.one"])));
        assert_eq!(cache.get(&key("jc"), t0 + CACHE_TTL), None);
        // Another directory or organisation is another entry.
        let groups = Key {
            directory: Directory::Groups,
            ..key("jc")
        };
        assert_eq!(cache.get(&groups, t0), None);
        let other_org = Key {
            org: Some("5a1b2c3d4e5f6a7b8c9d0e1f".parse().unwrap()),
            ..key("jc")
        };
        assert_eq!(cache.get(&other_org, t0), None);
    }

    #[test]
    fn a_complete_answer_for_a_shorter_prefix_answers_longer_ones() {
        let cache = SuggestionCache::default();
        let t0 = Instant::now();
        cache.put(
            key("j"),
            &names(&["jane.doe", "JCUser.Two", "jcuser.one"]),
            true,
            CACHE_TTL,
            t0,
        );
        assert_eq!(
            cache.get(&key("jcu"), t0),
            Some(names(&["JCUser.Two", "jcuser.one"]))
        );
        assert_eq!(cache.get(&key("jx"), t0), Some(Vec::new()));
        assert_eq!(cache.get(&key("k"), t0), None, "not a longer prefix");
        assert_eq!(cache.get(&key("jcu"), t0 + CACHE_TTL), None, "expired");
    }

    #[test]
    fn incomplete_or_failed_answers_are_never_narrowed() {
        let cache = SuggestionCache::default();
        let t0 = Instant::now();
        let full: Vec<String> = (0..MAX_SUGGESTIONS).map(|n| format!("a{n:02}")).collect();
        cache.put(key("a"), &full, false, CACHE_TTL, t0);
        assert_eq!(cache.get(&key("a0"), t0), None, "there may be more");
        cache.put(key("b"), &[], false, FAILED_TTL, t0);
        assert_eq!(
            cache.get(&key("b"), t0),
            Some(Vec::new()),
            "failure remembered"
        );
        assert_eq!(cache.get(&key("bo"), t0), None);
        assert_eq!(cache.get(&key("b"), t0 + FAILED_TTL), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SuggestionCache::default();
        let t0 = Instant::now();
        for n in 0..CACHE_CAP + 10 {
            cache.put(key(&format!("p{n}")), &[], true, CACHE_TTL, t0);
        }
        assert!(cache.entries.len() <= CACHE_CAP);
    }
}
