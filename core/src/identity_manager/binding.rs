//! Binding paths of password reset settings, e.g.
//! `AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail`.
//!
//! # Grammar
//!
//! Decided from the documented examples of `PasswordResetSettings`
//! (`docs/identitymanager/6.2/integration-guide/toolkit/xml-configuration/connectors/passwordresetsettings/index.md`,
//! F4) and the identifier rule of the squery grammar
//! (`docs/identitymanager/6.2/integration-guide/api/squery/index.md`, F13):
//!
//! ```text
//! binding    = "AssignedResourceType" ":" property { "." step } ;
//! step       = [ entityType ":" ] property ;
//! entityType = identifier ;
//! property   = identifier ;
//! identifier = letter { letter | digit | "_" } ;      (ASCII only)
//! ```
//!
//! Every step names a property of the entity reached so far; all steps but the last are
//! navigations, the last is the value (a mail address or a display name). A step's
//! `entityType:` prefix states the type of the entity the previous navigation leads to (a cast:
//! `Owner` of an assigned resource type can be any entity type, so `Owner.Directory_User:MainRecord`
//! reads "the owner, which is a `Directory_User`, then its `MainRecord`"). The first step's prefix
//! is the root and must be `AssignedResourceType`, since Send-PasswordNotification resolves the
//! bindings from the assigned resource type it is given (F1, F4).
//!
//! No whitespace is allowed; a path is at most [`MAX_LEN`] characters and [`MAX_STEPS`] steps.
//! Because identifiers are limited to `[A-Za-z0-9_]`, a parsed binding can be written into a
//! squery verbatim: nothing else reaches the query.

use std::fmt;

/// The entity type every password-notification binding starts from.
pub const ROOT: &str = "AssignedResourceType";

/// The longest binding path accepted, in characters.
pub const MAX_LEN: usize = 512;

/// The most steps a binding path may have.
pub const MAX_STEPS: usize = 24;

/// A parsed, validated binding path rooted at [`ROOT`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    steps: Vec<Step>,
}

/// One step of a [`Binding`]: an optional entity type (the cast of the previous navigation; on
/// the first step, the root) and a property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Step {
    entity_type: Option<String>,
    property: String,
}

impl Step {
    /// The entity type this step reads the property on, when the path states it.
    pub fn entity_type(&self) -> Option<&str> {
        self.entity_type.as_deref()
    }

    /// The property read at this step.
    pub fn property(&self) -> &str {
        &self.property
    }
}

/// Why a binding path was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid binding at character {position}: {problem}")]
pub struct BindingError {
    position: usize,
    problem: BindingProblem,
}

impl BindingError {
    /// The 1-based character position of the problem (one past the end for a path cut short).
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong there.
    pub fn problem(&self) -> &BindingProblem {
        &self.problem
    }
}

/// What is wrong with a binding path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingProblem {
    /// The path is empty.
    Empty,
    /// The path is longer than [`MAX_LEN`] characters.
    TooLong,
    /// The path has more than [`MAX_STEPS`] steps.
    TooManySteps,
    /// An identifier (a letter, then letters, digits or `_`) was expected.
    ExpectedIdentifier {
        /// What was found instead (`None` at the end of the path).
        found: Option<char>,
    },
    /// The root entity type must be followed by `:`.
    ExpectedColon {
        /// What was found instead (`None` at the end of the path).
        found: Option<char>,
    },
    /// A step must be followed by `.` or end the path.
    ExpectedDot {
        /// What was found instead.
        found: char,
    },
    /// The path does not start at [`ROOT`].
    WrongRoot {
        /// The root entity type found.
        found: String,
    },
}

impl fmt::Display for BindingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn found(c: Option<char>) -> String {
            match c {
                Some(c) if c.is_control() || c.is_whitespace() => format!("{:?}", c),
                Some(c) => format!("'{c}'"),
                None => "the end of the path".to_owned(),
            }
        }
        match self {
            Self::Empty => f.write_str("the path is empty"),
            Self::TooLong => write!(f, "the path is longer than {MAX_LEN} characters"),
            Self::TooManySteps => write!(f, "the path has more than {MAX_STEPS} steps"),
            Self::ExpectedIdentifier { found: c } => write!(
                f,
                "expected a name (a letter, then letters, digits or '_'), found {}",
                found(*c)
            ),
            Self::ExpectedColon { found: c } => {
                write!(
                    f,
                    "expected ':' after the root entity type, found {}",
                    found(*c)
                )
            }
            Self::ExpectedDot { found: c } => {
                write!(f, "expected '.' between steps, found {}", found(Some(*c)))
            }
            Self::WrongRoot { found } => write!(
                f,
                "the path must start at {ROOT}, not {}",
                found.chars().take(40).collect::<String>()
            ),
        }
    }
}

struct Cursor {
    chars: Vec<char>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn error(&self, problem: BindingProblem) -> BindingError {
        BindingError {
            position: self.at + 1,
            problem,
        }
    }

    fn identifier(&mut self) -> Result<String, BindingError> {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => {}
            found => return Err(self.error(BindingProblem::ExpectedIdentifier { found })),
        }
        let start = self.at;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
            self.at += 1;
        }
        Ok(self.chars[start..self.at].iter().collect())
    }
}

impl Binding {
    /// Parses a binding path; see the module docs for the grammar.
    pub fn parse(path: &str) -> Result<Self, BindingError> {
        let mut cursor = Cursor {
            chars: path.chars().collect(),
            at: 0,
        };
        if cursor.chars.is_empty() {
            return Err(cursor.error(BindingProblem::Empty));
        }
        if cursor.chars.len() > MAX_LEN {
            cursor.at = MAX_LEN;
            return Err(cursor.error(BindingProblem::TooLong));
        }
        let root_at = cursor.at;
        let root = cursor.identifier()?;
        if cursor.peek() != Some(':') {
            let found = cursor.peek();
            return Err(cursor.error(BindingProblem::ExpectedColon { found }));
        }
        if root != ROOT {
            return Err(BindingError {
                position: root_at + 1,
                problem: BindingProblem::WrongRoot { found: root },
            });
        }
        cursor.at += 1;
        let property = cursor.identifier()?;
        let mut steps = vec![Step {
            entity_type: Some(root),
            property,
        }];
        while let Some(c) = cursor.peek() {
            if c != '.' {
                return Err(cursor.error(BindingProblem::ExpectedDot { found: c }));
            }
            cursor.at += 1;
            if steps.len() == MAX_STEPS {
                return Err(cursor.error(BindingProblem::TooManySteps));
            }
            let first = cursor.identifier()?;
            let step = if cursor.peek() == Some(':') {
                cursor.at += 1;
                Step {
                    entity_type: Some(first),
                    property: cursor.identifier()?,
                }
            } else {
                Step {
                    entity_type: None,
                    property: first,
                }
            };
            steps.push(step);
        }
        Ok(Self { steps })
    }

    /// The steps, the first one carrying [`ROOT`] as its entity type.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The property the binding ends on (e.g. `Mail`).
    pub fn property(&self) -> &str {
        self.steps
            .last()
            .map(|step| step.property.as_str())
            .unwrap_or_default()
    }
}

impl std::str::FromStr for Binding {
    type Err = BindingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if let Some(entity_type) = &step.entity_type {
                write!(f, "{entity_type}:")?;
            }
            f.write_str(&step.property)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four bindings of the documented `PasswordResetSettings` example (F4).
    const DOCUMENTED: &[&str] = &[
        "AssignedResourceType:Owner.Directory_User:MainRecord.Mail",
        "AssignedResourceType:Owner.Directory_User:MainRecord.InternalDisplayName",
        "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.Mail",
        "AssignedResourceType:Owner.Directory_User:MainRecord.Organization.Manager.MainRecord.InternalDisplayName",
    ];

    #[test]
    fn documented_examples_parse_and_round_trip() {
        for path in DOCUMENTED {
            let binding = Binding::parse(path).unwrap();
            assert_eq!(binding.to_string(), *path);
        }
        let b = Binding::parse(DOCUMENTED[2]).unwrap();
        let shape: Vec<(Option<&str>, &str)> = b
            .steps()
            .iter()
            .map(|s| (s.entity_type(), s.property()))
            .collect();
        assert_eq!(
            shape,
            [
                (Some("AssignedResourceType"), "Owner"),
                (Some("Directory_User"), "MainRecord"),
                (None, "Organization"),
                (None, "Manager"),
                (None, "MainRecord"),
                (None, "Mail"),
            ]
        );
        assert_eq!(b.property(), "Mail");
    }

    #[test]
    fn refusals_name_the_position() {
        #[rustfmt::skip]
        let table: &[(&str, usize, &str)] = &[
            ("", 1, "the path is empty"),
            ("Owner.Mail", 6, "expected ':' after the root entity type, found '.'"),
            ("AssignedResourceType", 21, "expected ':' after the root entity type, found the end of the path"),
            ("Directory_User:MainRecord.Mail", 1, "the path must start at AssignedResourceType, not Directory_User"),
            ("AssignedResourceType:", 22, "expected a name (a letter, then letters, digits or '_'), found the end of the path"),
            ("AssignedResourceType:Owner.", 28, "expected a name (a letter, then letters, digits or '_'), found the end of the path"),
            ("AssignedResourceType:Owner..Mail", 28, "expected a name (a letter, then letters, digits or '_'), found '.'"),
            ("AssignedResourceType:Owner.Directory_User:", 43, "expected a name (a letter, then letters, digits or '_'), found the end of the path"),
            ("AssignedResourceType:Owner.1Mail", 28, "expected a name (a letter, then letters, digits or '_'), found '1'"),
            ("AssignedResourceType:Owner Mail", 27, "expected '.' between steps, found ' '"),
            ("AssignedResourceType:Owner.Mail select Id", 32, "expected '.' between steps, found ' '"),
            ("AssignedResourceType:Owner.Ma\"il", 30, "expected '.' between steps, found '\"'"),
            ("AssignedResourceType:Owner.A:B:C", 31, "expected '.' between steps, found ':'"),
            (" AssignedResourceType:Owner", 1, "expected a name (a letter, then letters, digits or '_'), found ' '"),
            ("AssignedResourceType:Owner.Maïl", 30, "expected '.' between steps, found 'ï'"),
        ];
        for &(path, position, problem) in table {
            let err = Binding::parse(path).unwrap_err();
            assert_eq!(
                (err.position(), err.problem().to_string()),
                (position, problem.to_owned()),
                "path {path:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("invalid binding at character {position}: {problem}")
            );
        }
    }

    #[test]
    fn length_and_depth_are_bounded() {
        let long = format!("AssignedResourceType:{}", "A".repeat(MAX_LEN));
        assert_eq!(
            Binding::parse(&long).unwrap_err().problem(),
            &BindingProblem::TooLong
        );
        let deep = format!("AssignedResourceType:Owner{}", ".A".repeat(MAX_STEPS));
        assert_eq!(
            Binding::parse(&deep).unwrap_err().problem(),
            &BindingProblem::TooManySteps
        );
        let ok = format!("AssignedResourceType:Owner{}", ".A".repeat(MAX_STEPS - 1));
        assert_eq!(Binding::parse(&ok).unwrap().steps().len(), MAX_STEPS);
    }
}
