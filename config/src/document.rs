//! Reading the TOML text: syntax (all errors at once), shape (wrong types and unknown keys, all
//! at once), and the spans that turn a key path into a line number.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{ConfigError, ErrorKind};
use crate::raw::RawConfig;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `policy.expire.approval` or `groups.helpdesk.discord_roles[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyPath(Vec<Seg>);

impl KeyPath {
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path followed by `key`.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        Self(segs)
    }

    /// This path followed by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    pub(crate) fn segs(&self) -> &[Seg] {
        &self.0
    }

    /// The last key of the path, if it ends with a key.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    fn from_ignored(path: &serde_ignored::Path<'_>) -> Self {
        fn walk(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
            match path {
                serde_ignored::Path::Root => {}
                serde_ignored::Path::Seq { parent, index } => {
                    walk(parent, out);
                    out.push(Seg::Index(*index));
                }
                serde_ignored::Path::Map { parent, key } => {
                    walk(parent, out);
                    out.push(Seg::Key(key.clone()));
                }
                serde_ignored::Path::Some { parent }
                | serde_ignored::Path::NewtypeStruct { parent }
                | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
            }
        }
        let mut segs = Vec::new();
        walk(path, &mut segs);
        Self(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The parsed text, kept for line numbers.
pub(crate) struct Document<'a> {
    text: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    /// Parses the syntax; every syntax error is reported (with its line, never the line's text,
    /// which may hold a mistyped secret).
    pub(crate) fn parse(text: &'a str) -> Result<Self, Vec<ConfigError>> {
        let (root, errors) = DeTable::parse_recoverable(text);
        if errors.is_empty() {
            return Ok(Self { text, root });
        }
        Err(errors
            .iter()
            .map(|e| {
                ConfigError::new(
                    ErrorKind::Syntax,
                    "",
                    format!("invalid TOML: {}", e.message().trim()),
                    "correct the syntax on this line: strings in double quotes, one `key = value` \
                     per line, section headers like [jumpcloud]",
                )
                .at_line(e.span().map(|s| line_at(text, s.start)))
            })
            .collect())
    }

    /// The 1-based line of `path`, or of its deepest ancestor present in the file.
    pub(crate) fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let mut span = None;
        let mut current: Option<&DeValue<'a>> = None;
        for seg in path.segs() {
            let next = match (seg, current) {
                (Seg::Key(k), None) => self
                    .root
                    .get_ref()
                    .get_key_value(k.as_str())
                    .map(|(k, v)| (k.span(), v)),
                (Seg::Key(k), Some(DeValue::Table(t))) => {
                    t.get_key_value(k.as_str()).map(|(k, v)| (k.span(), v))
                }
                (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i).map(|v| (v.span(), v)),
                _ => None,
            };
            let Some((found, value)) = next else { break };
            span = Some(found);
            current = Some(value.get_ref());
        }
        span.map(|s: Range<usize>| line_at(self.text, s.start))
    }

    /// Reads the shape: every wrong type and every unknown key. With wrong types the raw value
    /// is `None` (validation would only add noise about the keys that could not be read).
    pub(crate) fn shape(&self) -> (Option<RawConfig>, Vec<ConfigError>) {
        /// Each retry drops one mistyped key; a file with more is reported in part.
        const MAX_TYPE_ERRORS: usize = 50;
        let mut table = self.root.clone();
        let mut unknown: BTreeSet<KeyPath> = BTreeSet::new();
        let mut errors = Vec::new();
        let mut raw = None;
        for _ in 0..MAX_TYPE_ERRORS {
            let de = toml::Deserializer::from(table.clone());
            let result: Result<RawConfig, toml::de::Error> = serde_ignored::deserialize(de, |p| {
                unknown.insert(KeyPath::from_ignored(&p));
            });
            match result {
                Ok(value) => {
                    raw = Some(value);
                    break;
                }
                Err(error) => {
                    let path = error.span().and_then(|s| path_at(table.get_ref(), s.start));
                    errors.push(self.type_error(&error, path.as_ref()));
                    let removed = path.is_some_and(|p| remove(table.get_mut(), p.segs()));
                    if !removed {
                        break;
                    }
                }
            }
        }
        for path in &unknown {
            errors.push(self.unknown_key(path));
        }
        let raw = if errors.iter().any(|e| e.kind == ErrorKind::WrongType) {
            None
        } else {
            raw
        };
        (raw, errors)
    }

    fn type_error(&self, error: &toml::de::Error, path: Option<&KeyPath>) -> ConfigError {
        let found = path.and_then(|p| self.value_at(p)).map(DeValue::type_str);
        let expected = expected_of(error.message());
        let problem = match (found, &expected) {
            (Some(found), Some(expected)) => {
                format!(
                    "wrong type: found {} {found}, expected {expected}",
                    article(found)
                )
            }
            _ => format!("wrong type: {}", error.message()),
        };
        let fix = match (found, expected.as_deref()) {
            (Some("integer"), Some("a string")) => {
                "put the value in double quotes (ids are written as strings)".to_owned()
            }
            (_, Some(expected)) => format!("write {expected} here"),
            _ => "see passdesk.example.toml for the expected form".to_owned(),
        };
        let key = path.map(ToString::to_string).unwrap_or_default();
        let line = match path {
            Some(p) => self.line_of(p),
            None => error.span().map(|s| line_at(self.text, s.start)),
        };
        ConfigError::new(ErrorKind::WrongType, key, problem, fix).at_line(line)
    }

    fn unknown_key(&self, path: &KeyPath) -> ConfigError {
        const SECRET_KEYS: &[&str] = &[
            "api_key",
            "client_secret",
            "password",
            "bot_token",
            "signing_secret",
        ];
        let segs = path.segs();
        let parent = match segs.len().checked_sub(2).and_then(|i| segs.get(i)) {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        let in_policy =
            segs.len() == 2 && matches!(segs.first(), Some(Seg::Key(k)) if k == "policy");
        let fix = if in_policy {
            "the commands are reset, expire and notify; remove or rename this section"
        } else if parent.is_some_and(|p| SECRET_KEYS.contains(&p)) {
            "a secret reference holds only env = \"VAR\" or file = \"/path\""
        } else {
            "remove it or correct its spelling (see passdesk.example.toml for every key)"
        };
        ConfigError::new(ErrorKind::UnknownKey, path.to_string(), "unknown key", fix)
            .at_line(self.line_of(path))
    }

    fn value_at(&self, path: &KeyPath) -> Option<&DeValue<'a>> {
        let (Seg::Key(first), rest) = path.segs().split_first()? else {
            return None;
        };
        let mut value = self.root.get_ref().get(first.as_str())?.get_ref();
        for seg in rest {
            value = match (seg, value) {
                (Seg::Key(k), DeValue::Table(t)) => t.get(k.as_str())?.get_ref(),
                (Seg::Index(i), DeValue::Array(a)) => a.get(*i)?.get_ref(),
                _ => return None,
            };
        }
        Some(value)
    }
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key path of the innermost value whose span holds `offset`.
fn path_at(table: &DeTable<'_>, offset: usize) -> Option<KeyPath> {
    fn in_value(value: &Spanned<DeValue<'_>>, offset: usize, path: KeyPath) -> Option<KeyPath> {
        match value.get_ref() {
            DeValue::Table(t) => in_table(t, offset, &path)
                .or_else(|| value.span().contains(&offset).then_some(path)),
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| in_value(item, offset, path.index(i)))
                .or_else(|| value.span().contains(&offset).then_some(path)),
            _ => value.span().contains(&offset).then_some(path),
        }
    }
    fn in_table(table: &DeTable<'_>, offset: usize, path: &KeyPath) -> Option<KeyPath> {
        table
            .iter()
            .find_map(|(k, v)| in_value(v, offset, path.key(k.get_ref())))
    }
    in_table(table, offset, &KeyPath::root())
}

/// Removes the key that `segs` points into (the table entry holding it); `false` if absent.
fn remove(table: &mut DeTable<'_>, segs: &[Seg]) -> bool {
    match segs {
        [Seg::Key(k)] | [Seg::Key(k), Seg::Index(_), ..] => table.remove(k.as_str()).is_some(),
        [Seg::Key(k), rest @ ..] => match table.get_mut(k.as_str()).map(Spanned::get_mut) {
            Some(DeValue::Table(inner)) => remove(inner, rest),
            _ => table.remove(k.as_str()).is_some(),
        },
        _ => false,
    }
}

/// "…, expected X" from a serde message, in words a config author knows.
fn expected_of(message: &str) -> Option<String> {
    let (_, expected) = message.rsplit_once("expected ")?;
    let expected = expected.trim().trim_end_matches('.');
    Some(
        match expected {
            "a string" => "a string",
            "a boolean" => "true or false",
            "a sequence" => "an array, e.g. [\"…\"]",
            "a map" => "a table",
            "u16" => "a whole number from 0 to 65535",
            "u32" | "u64" | "usize" => "a whole number (0 or more)",
            "f64" | "f32" => "a number",
            other if other.starts_with("struct ") => "a table",
            other => other,
        }
        .to_owned(),
    )
}

/// "a" or "an" before a TOML type name.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
