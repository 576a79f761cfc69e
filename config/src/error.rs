//! [`ConfigErrors`]: every problem found in a configuration, each naming the key and the fix.

use std::fmt;

/// What kind of problem a [`ConfigError`] reports, for callers and tests that act on the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration file could not be read.
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// A key the schema does not know (often a typo).
    UnknownKey,
    /// A value of the wrong TOML type (a string where a number belongs, …).
    WrongType,
    /// A required key is absent.
    Missing,
    /// A secret is written inline instead of referenced.
    InlineSecret,
    /// A secret reference could not be resolved (unset variable, unreadable or empty file).
    SecretUnavailable,
    /// A value has the right type but not an accepted shape (an id, URL, address, name, …).
    InvalidValue,
    /// A number outside its allowed range.
    OutOfRange,
    /// A policy or rule names a group that `[groups]` does not define.
    UnknownGroup,
    /// A group has no members.
    EmptyGroup,
    /// A guild or team names a JumpCloud tenant that `[jumpcloud.tenants]` does not define.
    UnknownTenant,
    /// An approval rule with no approver groups.
    MissingApprovers,
    /// Keys or values that contradict each other (both of two exclusive keys, a duplicate, …).
    Conflict,
}

/// One problem: where (`key`, a dotted path such as `policy.expire.approval`, and the line when
/// known), what is wrong, and how to fix it. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ConfigError {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The dotted key path (`policy.expire.approval`); empty for whole-file problems.
    pub key: String,
    /// The 1-based line of the key in the file, when it is there.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl ConfigError {
    /// A problem at `key`, without a line (filled in later from the document).
    pub fn new(
        kind: ErrorKind,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            key: key.into(),
            line: None,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.line) {
            (false, Some(line)) => write!(f, "{} (line {line}): ", self.key)?,
            (false, None) => write!(f, "{}: ", self.key)?,
            (true, Some(line)) => write!(f, "line {line}: ")?,
            (true, None) => {}
        }
        write!(f, "{}; fix: {}", self.problem, self.fix)
    }
}

/// Every problem found in a configuration, in file order. `Display` shows one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems; never empty when returned as an error.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub(crate) fn one(error: ConfigError) -> Self {
        Self {
            errors: vec![error],
        }
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    /// The first problem at exactly `key`, if any.
    pub fn at(&self, key: &str) -> Option<&ConfigError> {
        self.errors.iter().find(|e| e.key == key)
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_key_line_problem_and_fix_one_per_line() {
        let errors = ConfigErrors {
            errors: vec![
                ConfigError::new(
                    ErrorKind::MissingApprovers,
                    "policy.expire.approval",
                    "approval \"always\" names no approver group",
                    "add approver_groups = [\"approver\"]",
                )
                .at_line(Some(42)),
                ConfigError::new(ErrorKind::Io, "", "could not read x.toml", "check the path"),
            ],
        };
        assert_eq!(
            errors.to_string(),
            "policy.expire.approval (line 42): approval \"always\" names no approver group; \
             fix: add approver_groups = [\"approver\"]\ncould not read x.toml; fix: check the path"
        );
    }
}
