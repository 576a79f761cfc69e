//! [`Env`]: where environment variables come from, so tests pass a map instead of touching the
//! process environment.

use std::collections::BTreeMap;
use std::fmt;

/// A source of environment variables.
pub trait Env {
    /// The value of `name`, or `None` when unset (or not valid Unicode).
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables, for tests and for callers that build the environment themselves.
///
/// `Debug` shows the names only: the values are usually secrets.
#[derive(Clone, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
}

impl MapEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// This environment with `name` set to `value`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets `name` to `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MapEnv {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

impl fmt::Debug for MapEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapEnv")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_env_answers_what_it_holds_and_hides_values_in_debug() {
        let env = MapEnv::new().with("JC_API_KEY", "k-123-secret");
        assert_eq!(env.var("JC_API_KEY").as_deref(), Some("k-123-secret"));
        assert_eq!(env.var("OTHER"), None);
        let shown = format!("{env:?}");
        assert!(
            shown.contains("JC_API_KEY") && !shown.contains("k-123-secret"),
            "{shown}"
        );
    }
}
