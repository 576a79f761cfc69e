//! Small pieces every HTTP client in this crate shares.

/// The `User-Agent` every Passdesk request carries: `passdesk/<version>`.
pub const USER_AGENT: &str = concat!("passdesk/", env!("CARGO_PKG_VERSION"));

/// The most characters of an upstream body kept in an error.
pub const EXCERPT_LIMIT: usize = 200;

/// A bounded, single-line excerpt of an upstream response body, for error messages and logs.
///
/// Control characters are replaced by spaces and the text is cut at [`EXCERPT_LIMIT`] characters
/// (on a character boundary) with `…` appended. Callers must only pass bodies that cannot contain
/// secrets they sent (upstream error bodies do not echo request headers).
pub fn excerpt(body: &str) -> String {
    let mut out: String = body
        .chars()
        .take(EXCERPT_LIMIT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.chars().nth(EXCERPT_LIMIT).is_some() {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_single_line() {
        assert_eq!(
            excerpt("{\"message\":\"Not Found\"}\n"),
            "{\"message\":\"Not Found\"}"
        );
        let long = "é".repeat(500);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_LIMIT + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn user_agent_names_the_version() {
        assert!(USER_AGENT.starts_with("passdesk/0."));
    }
}
