//! Resolving secret references (`{ env = "VAR" }`, `{ file = "/run/secrets/x" }`) into
//! [`SecretString`]s. Errors name the key and the variable or file, never the value.

use std::io::Read as _;
use std::path::Path;

use secrecy::SecretString;

use crate::document::KeyPath;
use crate::env::Env;
use crate::error::ErrorKind;
use crate::raw::{RawSecret, RefValue};

/// The largest secret file read (secrets are short; anything bigger is the wrong file).
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A failed resolution: kind, problem, fix.
pub(crate) type SecretProblem = (ErrorKind, String, String);

/// The environment variable suggested in a fix: `PASSDESK_` and the key path in capitals.
pub(crate) fn suggested_var(path: &KeyPath) -> String {
    let mut name = String::from("PASSDESK_");
    for c in path.to_string().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_uppercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    name.trim_end_matches('_').to_owned()
}

fn reference_fix(path: &KeyPath) -> String {
    let key = path.last_key().unwrap_or("secret");
    format!(
        "write {key} = {{ env = \"{}\" }} and set that variable, or {key} = {{ file = \"/run/secrets/…\" }}",
        suggested_var(path)
    )
}

/// Whether `name` is a portable environment variable name.
fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Resolves one secret. `resolve_path` turns a relative file path into the one read.
pub(crate) fn resolve(
    path: &KeyPath,
    raw: &RawSecret,
    env: &dyn Env,
    resolve_path: impl Fn(&str) -> std::path::PathBuf,
) -> Result<SecretString, SecretProblem> {
    match raw {
        RawSecret::Inline => Err((
            ErrorKind::InlineSecret,
            "a secret is written inline; secrets are never kept in the configuration file".into(),
            format!(
                "{}, and remove the value from the file",
                reference_fix(path)
            ),
        )),
        RawSecret::Array => Err((
            ErrorKind::WrongType,
            "wrong type: found an array, expected a secret reference".into(),
            reference_fix(path),
        )),
        RawSecret::Reference {
            env: Some(_),
            file: Some(_),
        } => Err((
            ErrorKind::Conflict,
            "the secret reference names both env and file".into(),
            "keep only one of env and file".into(),
        )),
        RawSecret::Reference {
            env: None,
            file: None,
        } => Err((
            ErrorKind::Missing,
            "the secret reference names neither env nor file".into(),
            reference_fix(path),
        )),
        RawSecret::Reference {
            env: Some(RefValue::NotText),
            ..
        }
        | RawSecret::Reference {
            file: Some(RefValue::NotText),
            ..
        } => Err((
            ErrorKind::WrongType,
            "wrong type: env and file take a string".into(),
            reference_fix(path),
        )),
        RawSecret::Reference {
            env: Some(RefValue::Text(name)),
            ..
        } => from_env(path, name, env),
        RawSecret::Reference {
            file: Some(RefValue::Text(file)),
            ..
        } => from_file(&resolve_path(file)),
    }
}

fn from_env(path: &KeyPath, name: &str, env: &dyn Env) -> Result<SecretString, SecretProblem> {
    if !valid_var_name(name) {
        return Err((
            ErrorKind::InvalidValue,
            format!(
                "{:?} is not an environment variable name",
                crate::ids::shown(name)
            ),
            format!(
                "use letters, digits and '_', starting with a letter, e.g. env = \"{}\"",
                suggested_var(path)
            ),
        ));
    }
    match env.var(name) {
        None => Err((
            ErrorKind::SecretUnavailable,
            format!("environment variable {name} is not set"),
            format!(
                "set {name} in the environment of passdesk, or point the key at another variable or a file"
            ),
        )),
        Some(value) if value.trim().is_empty() => Err((
            ErrorKind::SecretUnavailable,
            format!("environment variable {name} is empty"),
            format!("set {name} to the secret"),
        )),
        Some(value) => Ok(SecretString::from(value)),
    }
}

fn from_file(file: &Path) -> Result<SecretString, SecretProblem> {
    let shown = file.display();
    let unreadable = |e: std::io::Error| {
        (
            ErrorKind::SecretUnavailable,
            format!("could not read secret file {shown}: {}", e.kind()),
            "check that the file exists and that the user running passdesk may read it".to_owned(),
        )
    };
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_SECRET_FILE + 1).read_to_string(&mut text))
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err((
            ErrorKind::SecretUnavailable,
            format!("secret file {shown} is larger than {MAX_SECRET_FILE} bytes"),
            "point the key at the file that holds only the secret".to_owned(),
        ));
    }
    // `echo secret > file` leaves a newline that is not part of the secret.
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.trim().is_empty() {
        return Err((
            ErrorKind::SecretUnavailable,
            format!("secret file {shown} is empty"),
            "write the secret into the file".to_owned(),
        ));
    }
    Ok(SecretString::from(secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_variable_names_follow_the_key() {
        let path = KeyPath::root().key("jumpcloud").key("api_key");
        assert_eq!(suggested_var(&path), "PASSDESK_JUMPCLOUD_API_KEY");
        let path = KeyPath::root()
            .key("identity_manager")
            .key("mail")
            .key("smtp")
            .key("password");
        assert_eq!(
            suggested_var(&path),
            "PASSDESK_IDENTITY_MANAGER_MAIL_SMTP_PASSWORD"
        );
    }

    #[test]
    fn variable_names() {
        assert!(valid_var_name("JC_API_KEY"));
        assert!(valid_var_name("_X1"));
        assert!(!valid_var_name("1X"));
        assert!(!valid_var_name("JC-KEY"));
        assert!(!valid_var_name(""));
    }
}
