//! [`Email`]: a validated mail address.

use std::fmt;
use std::str::FromStr;

use crate::http::excerpt;

/// The longest address accepted (RFC 5321 path limit less the angle brackets).
const MAX_ADDRESS: usize = 254;
/// The longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;
/// The longest domain (RFC 1035).
const MAX_DOMAIN: usize = 253;
/// The longest domain label (RFC 1035).
const MAX_LABEL: usize = 63;

/// A validated mail address `local@domain.tld`, kept with its domain in lowercase.
///
/// Accepted: ASCII only; one `@`; a dot-atom local part of at most 64 characters (letters,
/// digits and ``!#$%&'*+/=?^_`{|}~-``, dots between them); a DNS domain of at least two labels
/// (a single label such as `acme` is almost always a typo of `acme.com`, so it is refused, and
/// so are IP literals); at most 254 characters in all. Quoted local parts, display names,
/// spaces, commas, angle brackets and control characters are refused, so an `Email` always
/// names exactly one mailbox and cannot smuggle a second one into a header or envelope.
///
/// Equality and hashing follow RFC 5321: the domain is case-insensitive, the local part is not.
/// [`Email::same_mailbox`] compares the whole address case-insensitively, as CC de-duplication
/// does.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// The whole address, e.g. `jane.doe@acme.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The local part, before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The domain, after the `@`, in lowercase.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// Whether both name the same mailbox when case is ignored throughout (mail systems treat
    /// `Jane@Acme.com` and `jane@acme.com` as one mailbox in practice).
    pub fn same_mailbox(&self, other: &Email) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

/// What is wrong with a would-be address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailProblem {
    /// Nothing was given.
    Empty,
    /// Longer than 254 characters.
    TooLong,
    /// Holds a character outside ASCII.
    NonAscii,
    /// Holds a space, a control character, a comma, angle brackets or quotes.
    ForbiddenCharacter,
    /// No `@`.
    MissingAt,
    /// More than one `@`.
    MultipleAt,
    /// Nothing before the `@`.
    EmptyLocalPart,
    /// More than 64 characters before the `@`.
    LocalPartTooLong,
    /// The part before the `@` is not a dot-atom (bad character, or a leading, trailing or
    /// doubled dot).
    InvalidLocalPart,
    /// The part after the `@` is not a DNS name.
    InvalidDomain,
    /// The domain has a single label (e.g. `acme` instead of `acme.com`).
    SingleLabelDomain,
}

impl fmt::Display for EmailProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::TooLong => "it is longer than 254 characters",
            Self::NonAscii => "only ascii addresses are supported",
            Self::ForbiddenCharacter => {
                "it holds a space, control character, comma, quote or angle bracket"
            }
            Self::MissingAt => "it has no @",
            Self::MultipleAt => "it has more than one @",
            Self::EmptyLocalPart => "nothing comes before the @",
            Self::LocalPartTooLong => "the part before the @ is longer than 64 characters",
            Self::InvalidLocalPart => "the part before the @ is not a valid mailbox name",
            Self::InvalidDomain => "the part after the @ is not a valid domain name",
            Self::SingleLabelDomain => "the domain has no dot (e.g. acme instead of acme.com)",
        })
    }
}

/// An address that failed validation: a bounded excerpt of the input and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address {input:?}: {problem}")]
pub struct InvalidEmail {
    /// The input, bounded and with control characters replaced.
    pub input: String,
    /// What is wrong with it.
    pub problem: EmailProblem,
}

impl FromStr for Email {
    type Err = InvalidEmail;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        validate(s)
            .map(|(local, domain)| Email(format!("{local}@{}", domain.to_ascii_lowercase())))
            .map_err(|problem| InvalidEmail {
                input: excerpt(s),
                problem,
            })
    }
}

fn validate(s: &str) -> Result<(&str, &str), EmailProblem> {
    if s.is_empty() {
        return Err(EmailProblem::Empty);
    }
    if s.len() > MAX_ADDRESS {
        return Err(EmailProblem::TooLong);
    }
    if !s.is_ascii() {
        return Err(EmailProblem::NonAscii);
    }
    if s.chars()
        .any(|c| c.is_ascii_control() || matches!(c, ' ' | ',' | '<' | '>' | '"' | ';'))
    {
        return Err(EmailProblem::ForbiddenCharacter);
    }
    let (local, domain) = match s.split_once('@') {
        None => return Err(EmailProblem::MissingAt),
        Some((_, d)) if d.contains('@') => return Err(EmailProblem::MultipleAt),
        Some(parts) => parts,
    };
    if local.is_empty() {
        return Err(EmailProblem::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL {
        return Err(EmailProblem::LocalPartTooLong);
    }
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    if local
        .split('.')
        .any(|atom| atom.is_empty() || !atom.chars().all(atom_char))
    {
        return Err(EmailProblem::InvalidLocalPart);
    }
    validate_domain(domain)?;
    Ok((local, domain))
}

/// Checks a DNS domain of at least two labels; shared with the allowed-domains list.
pub(crate) fn validate_domain(domain: &str) -> Result<(), EmailProblem> {
    if domain.is_empty() || domain.len() > MAX_DOMAIN || !domain.is_ascii() {
        return Err(EmailProblem::InvalidDomain);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= MAX_LABEL
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !labels.iter().all(label_ok) {
        return Err(EmailProblem::InvalidDomain);
    }
    if labels.len() < 2 {
        return Err(EmailProblem::SingleLabelDomain);
    }
    // An all-numeric top label means an IP address (or nonsense), not a mail domain.
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(EmailProblem::InvalidDomain);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        let cases = [
            ("jane.doe@acme.com", "jane.doe@acme.com"),
            ("Jane.Doe@ACME.Com", "Jane.Doe@acme.com"),
            ("it+alerts@mail.acme.co.uk", "it+alerts@mail.acme.co.uk"),
            ("o'brien@acme.fr", "o'brien@acme.fr"),
            ("a@b-c.io", "a@b-c.io"),
            ("x_y-z{1}@x1.example", "x_y-z{1}@x1.example"),
        ];
        for (input, shown) in cases {
            let email: Email = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(email.to_string(), shown);
        }
        let e: Email = "Jane@Acme.COM".parse().unwrap();
        assert_eq!(e.local_part(), "Jane");
        assert_eq!(e.domain(), "acme.com");
    }

    #[test]
    fn refuses_malformed_addresses_with_the_reason() {
        let long_local = format!("{}@acme.com", "a".repeat(65));
        let long_all = format!("{}@{}.com", "a".repeat(60), "b.".repeat(100));
        let cases: Vec<(&str, EmailProblem)> = vec![
            ("", EmailProblem::Empty),
            (&long_all, EmailProblem::TooLong),
            ("jäne@acme.com", EmailProblem::NonAscii),
            ("jane doe@acme.com", EmailProblem::ForbiddenCharacter),
            (" jane@acme.com", EmailProblem::ForbiddenCharacter),
            (
                "jane@acme.com,eve@evil.com",
                EmailProblem::ForbiddenCharacter,
            ),
            ("Jane <jane@acme.com>", EmailProblem::ForbiddenCharacter),
            (
                "jane@acme.com\r\nBcc: eve@evil.com",
                EmailProblem::ForbiddenCharacter,
            ),
            ("\"jane\"@acme.com", EmailProblem::ForbiddenCharacter),
            ("jane.acme.com", EmailProblem::MissingAt),
            ("jane@eve@acme.com", EmailProblem::MultipleAt),
            ("@acme.com", EmailProblem::EmptyLocalPart),
            (&long_local, EmailProblem::LocalPartTooLong),
            (".jane@acme.com", EmailProblem::InvalidLocalPart),
            ("jane.@acme.com", EmailProblem::InvalidLocalPart),
            ("ja..ne@acme.com", EmailProblem::InvalidLocalPart),
            ("ja(ne)@acme.com", EmailProblem::InvalidLocalPart),
            ("jane@", EmailProblem::InvalidDomain),
            ("jane@-acme.com", EmailProblem::InvalidDomain),
            ("jane@acme..com", EmailProblem::InvalidDomain),
            ("jane@acme.com.", EmailProblem::InvalidDomain),
            ("jane@acme_corp.com", EmailProblem::InvalidDomain),
            ("jane@[127.0.0.1]", EmailProblem::InvalidDomain),
            ("jane@127.0.0.1", EmailProblem::InvalidDomain),
            ("jane@localhost", EmailProblem::SingleLabelDomain),
            ("jane@acme", EmailProblem::SingleLabelDomain),
        ];
        for (input, problem) in cases {
            let err = input.parse::<Email>().unwrap_err();
            assert_eq!(err.problem, problem, "{input:?}");
            assert!(err.input.chars().all(|c| !c.is_control()), "{input:?}");
        }
    }

    #[test]
    fn error_message_names_the_input_and_the_problem() {
        let err = "jane.acme.com".parse::<Email>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid email address \"jane.acme.com\": it has no @"
        );
    }

    #[test]
    fn equality_ignores_domain_case_only_and_same_mailbox_ignores_all_case() {
        let a: Email = "Jane@ACME.com".parse().unwrap();
        let b: Email = "Jane@acme.COM".parse().unwrap();
        let c: Email = "jane@acme.com".parse().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.same_mailbox(&c));
    }

    #[test]
    fn every_accepted_address_is_accepted_by_lettre() {
        for input in ["jane.doe@acme.com", "o'brien+x@mail.acme.fr", "a{b}|c@x.io"] {
            let email: Email = input.parse().unwrap();
            assert!(email.as_str().parse::<lettre::Address>().is_ok(), "{input}");
        }
    }
}
