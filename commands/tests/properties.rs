//! Properties of the command parser against hostile input (issue #10, "Hostile input").
//!
//! What a security officer would check: a username, user id, e-mail address, Identity Manager id
//! or `inactive` filter that is not valid is refused with a usage error naming the option (never
//! a panic, never a request); a value that is accepted cannot carry filter syntax (`$`, `{`,
//! `"`, `\`, newlines, wildcards) into a JumpCloud filter; and what an accepted username or group
//! name does reach — the JumpCloud simulator's record of the request — is exactly one anchored,
//! escaped filter on that value, which finds that user or group and never a look-alike.
//!
//! The generators are quick (a few hundred cases); the look-ups against the simulator run fewer
//! cases, each on a fresh simulator on 127.0.0.1.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use passdesk_commands::parse::parse_command;
use passdesk_commands::{Request, ResetTarget, UsageError, UsageProblem, UserRef, split_text};
use passdesk_core::jumpcloud::{self, GroupName, JumpCloudClient, Username};
use passdesk_core::retry::RetryPolicy;
use passdesk_sim::jumpcloud::{
    DEFAULT_API_KEY, DEFAULT_ORG_ID, GroupSeed, JumpCloudSim, OrgSeed, Route, UserSeed,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use secrecy::SecretString;
use serde_json::json;

/// Characters that mean something to a JumpCloud v1 search filter (JSON, `$regex`), a v2
/// `field:op:value` filter or a query string, or that break a line in a log or a chat message.
const HOSTILE: &[char] = &[
    '$', '{', '}', '"', '\\', '\n', '\r', '\t', '\0', '*', '(', ')', '[', ']', '|', '^', '?', '+',
    '/', ':', ' ', '\'', '<', '>', '&', '%', '#', '@', ',', ';', '=', '`', '~', '!', 'é', 'İ',
    '\u{202e}', '\u{200b}', '\u{2028}', '\u{7f}',
];

/// Snippets an attacker would try in a username or filter value.
const INJECTIONS: &[&str] = &[
    ".*",
    "^admin",
    "admin$",
    "{\"$ne\":null}",
    "\"},{\"username\":{\"$regex\":\".*\"}}",
    "jane\\\"}",
    "a|b",
    "(?i)",
    "name:eq:*",
    "&filter=name:search:",
    "%26filter%3D",
    "*",
    "admin\nlevel=error",
    "x\r\ny",
];

fn hostile_char() -> impl Strategy<Value = char> {
    proptest::sample::select(HOSTILE)
}

/// A valid username: a letter, then letters, digits, `.`, `-`, `_`.
fn username() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9._-]{0,14}"
}

/// A username with one hostile character inside it (never at an end, where trimming would
/// remove whitespace and leave a valid name).
fn hostile_username() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z][a-zA-Z0-9._-]{0,10}",
        hostile_char(),
        "[a-zA-Z0-9._-]{1,10}",
    )
        .prop_map(|(head, bad, tail)| format!("{head}{bad}{tail}"))
}

/// Any value a person (or an attacker) could type for an option.
fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        hostile_username(),
        proptest::sample::select(INJECTIONS).prop_map(str::to_owned),
        (username(), proptest::sample::select(INJECTIONS)).prop_map(|(u, i)| format!("{u}{i}")),
        "[0-9a-fA-F]{18,30}",
    ]
}

fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// The parser's answer must be a usage error about `option`, whose message is one clean line.
fn assert_refused(result: Result<Request, UsageError>, option: &str) -> Result<(), TestCaseError> {
    let error = match result {
        Ok(request) => {
            return Err(TestCaseError::fail(format!(
                "accepted as {request:?}, expected a usage error about {option}"
            )));
        }
        Err(error) => error,
    };
    prop_assert_eq!(error.problem(), UsageProblem::InvalidValue, "{}", error);
    prop_assert_eq!(error.option(), Some(option));
    prop_assert!(
        !error.message().chars().any(char::is_control),
        "the message can break a line: {:?}",
        error.message()
    );
    prop_assert!(error.message().chars().count() < 400, "{}", error.message());
    Ok(())
}

/// The user an accepted `reset user` / `expire` names.
fn user_of(request: &Request) -> Option<&UserRef> {
    match request {
        Request::Reset {
            target: ResetTarget::User(user),
            ..
        }
        | Request::Expire { user, .. } => Some(user),
        _ => None,
    }
}

/// Whether `value` holds no character that is filter syntax or breaks a line.
fn is_plain_username(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

proptest! {
    #![proptest_config(RunnerConfig::with_cases(256))]

    #[test]
    fn a_username_with_a_hostile_character_is_refused_naming_the_option(
        name in hostile_username(),
        command in proptest::sample::select(vec!["reset", "expire"]),
        dry_run in any::<bool>(),
    ) {
        let dry = if dry_run { "true" } else { "false" };
        let result = parse_command(command, &options(&[("user", &name), ("dry-run", dry)]));
        assert_refused(result, "user")?;
    }

    #[test]
    fn a_mistyped_user_id_is_refused_not_read_as_a_username(
        id in prop_oneof![
            // 24 hex digits with an uppercase letter.
            "[0-9a-f]{10}[A-F][0-9a-fA-F]{13}",
            // Hex of a near length.
            "[0-9a-f]{20,23}",
            "[0-9a-f]{25,28}",
        ],
    ) {
        assert_refused(parse_command("expire", &options(&[("user", &id)])), "user")?;
    }

    #[test]
    fn an_accepted_user_is_a_lowercase_id_or_a_plain_username(value in any_value()) {
        for command in ["reset", "expire"] {
            let Ok(request) = parse_command(command, &options(&[("user", &value)])) else {
                continue;
            };
            match user_of(&request) {
                Some(UserRef::Id(id)) => prop_assert!(
                    id.as_str().len() == 24
                        && id.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                    "{:?}", id
                ),
                Some(UserRef::Username(name)) => {
                    prop_assert!(is_plain_username(name.as_str()), "{:?}", name);
                    prop_assert_eq!(name.as_str(), value.trim());
                }
                other => prop_assert!(false, "no user in {:?}: {:?}", request, other),
            }
        }
    }

    #[test]
    fn an_invalid_cc_address_is_refused_naming_the_option(
        local in "[a-z][a-z0-9.]{0,8}[a-z0-9]",
        domain in "[a-z]{1,8}\\.[a-z]{2,4}",
        bad in proptest::sample::select(vec![
            " ", ",", "<", ">", "\"", "\n", "\r\n", ";", "@", "(", ")", "[", "]", "\\", ":",
            "\u{e9}", "\u{0}",
        ]),
        at_local in any::<bool>(),
    ) {
        let address = if at_local {
            format!("{local}{bad}x@{domain}")
        } else {
            format!("{local}@x{bad}{domain}")
        };
        let result = parse_command(
            "notify",
            &options(&[
                ("assigned-resource-type", "1000"),
                ("resource-type-mapping", "10"),
                ("cc", &address),
            ]),
        );
        assert_refused(result, "cc")?;
    }

    #[test]
    fn an_accepted_cc_address_names_one_mailbox(value in any_value()) {
        let result = parse_command(
            "notify",
            &options(&[
                ("assigned-resource-type", "1000"),
                ("resource-type-mapping", "10"),
                ("cc", &value),
            ]),
        );
        match result {
            Ok(Request::Notify { cc: Some(cc), .. }) => {
                let text = cc.as_str();
                prop_assert_eq!(text.matches('@').count(), 1, "{}", text);
                prop_assert!(
                    !text.chars().any(|c| c.is_whitespace()
                        || c.is_control()
                        || matches!(c, ',' | '<' | '>' | '"' | ';' | '\\')),
                    "a second recipient or header could ride along: {:?}", text
                );
            }
            Ok(other) => prop_assert!(false, "unexpected request {:?}", other),
            Err(error) => prop_assert_eq!(error.option(), Some("cc"), "{}", error),
        }
    }

    #[test]
    fn identity_manager_ids_are_whole_numbers_or_refused(
        value in prop_oneof![
            "[+][0-9]{1,5}",
            "0x[0-9a-f]{1,6}",
            "[0-9]{1,5}\\.[0-9]",
            "[0-9]{1,3}e[0-9]",
            "[0-9]{1,4}[;' ]+(OR|DROP|or) [0-9a-z=]{1,6}",
            "[1-9][0-9]{19,24}",
            "-[1-9][0-9]{19,24}",
            "[0-9]{1,4}\\$[a-z]{1,4}",
        ],
        which in proptest::sample::select(vec!["assigned-resource-type", "resource-type-mapping"]),
    ) {
        let mut given = vec![
            ("assigned-resource-type".to_owned(), "1000".to_owned()),
            ("resource-type-mapping".to_owned(), "10".to_owned()),
        ];
        for (name, slot) in &mut given {
            if name == which {
                *slot = value.clone();
            }
        }
        assert_refused(parse_command("notify", &given), which)?;
    }

    #[test]
    fn any_i64_is_an_identity_manager_id(art in any::<i64>(), mapping in any::<i64>()) {
        let request = parse_command(
            "notify",
            &options(&[
                ("assigned-resource-type", &art.to_string()),
                ("resource-type-mapping", &mapping.to_string()),
            ]),
        )
        .unwrap();
        let Request::Notify { assigned_resource_type, mapping: got, cc, dry_run } = request else {
            panic!("not a notify request");
        };
        prop_assert_eq!(assigned_resource_type.get(), art);
        prop_assert_eq!(got.get(), mapping);
        prop_assert!(cc.is_none() && !dry_run);
    }

    #[test]
    fn the_inactive_filter_takes_only_a_day_count_in_range(
        days in prop_oneof![any::<i64>(), -5_i64..5, 3645_i64..3655, 1_i64..=3650],
    ) {
        let result = parse_command(
            "reset",
            &options(&[("inactive", ""), ("created-within-days", &days.to_string())]),
        );
        if (1..=3650).contains(&days) {
            let expected = u32::try_from(days).ok();
            prop_assert_eq!(
                result.unwrap(),
                Request::Reset {
                    target: ResetTarget::Inactive { created_within_days: expected },
                    dry_run: false,
                }
            );
        } else {
            assert_refused(result, "created-within-days")?;
        }
    }

    #[test]
    fn the_inactive_filter_refuses_anything_but_digits(
        value in prop_oneof![
            "[0-9]{1,3}[a-zA-Z$;.,{}\"'+*/-]{1,4}",
            proptest::sample::select(INJECTIONS).prop_map(str::to_owned),
            "\\{\"\\$gt\":[0-9]{1,3}\\}",
        ],
    ) {
        let result = parse_command(
            "reset",
            &options(&[("inactive", ""), ("created-within-days", &value)]),
        );
        assert_refused(result, "created-within-days")?;
    }

    #[test]
    fn an_accepted_group_name_has_no_line_break_or_padding(value in any_value()) {
        match parse_command("reset", &options(&[("group", &value)])) {
            Ok(Request::Reset { target: ResetTarget::Group(group), .. }) => {
                let name = group.as_str();
                prop_assert!(!name.chars().any(char::is_control), "{:?}", name);
                prop_assert_eq!(name, name.trim());
                prop_assert_eq!(name, value.trim());
            }
            Ok(other) => prop_assert!(false, "unexpected request {:?}", other),
            Err(error) => prop_assert_eq!(error.option(), Some("group"), "{}", error),
        }
    }

    #[test]
    fn text_with_hostile_values_never_yields_a_request_with_them(
        head in proptest::sample::select(vec!["reset user:", "expire ", "reset user ", "expire user:"]),
        value in hostile_username(),
    ) {
        // As typed in Slack or the console: the value quoted, so it stays one word.
        let quoted = value.replace(['"', '\u{201c}', '\u{201d}'], "");
        let text = format!("{head}\"{quoted}\"");
        let (command, given) = split_text(&text).unwrap();
        match parse_command(&command, &given) {
            Ok(request) => {
                let user = user_of(&request).unwrap();
                prop_assert!(
                    matches!(user, UserRef::Username(n) if is_plain_username(n.as_str())),
                    "{:?} from {:?}", user, text
                );
            }
            Err(error) => prop_assert_ne!(error.problem(), UsageProblem::HelpRequested),
        }
    }
}

/// A client of the simulator, retrying quickly.
fn client_for(sim: &JumpCloudSim) -> JumpCloudClient {
    JumpCloudClient::builder(SecretString::from(DEFAULT_API_KEY))
        .base_url(sim.base_url())
        .retry(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20)),
        )
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn one_org() -> passdesk_sim::jumpcloud::JumpCloudSimBuilder {
    JumpCloudSim::builder()
        .org(OrgSeed::new(DEFAULT_ORG_ID, "Acme"))
        .api_key(DEFAULT_API_KEY, [DEFAULT_ORG_ID])
}

/// Group names people and attackers type: free text, wildcards, filter and query syntax.
fn group_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{1,30}",
        "[a-zA-Z]{1,6}[*?%&:=#+ ]{1,3}[a-zA-Z]{0,6}",
        proptest::sample::select(INJECTIONS).prop_map(str::to_owned),
        any::<String>(),
    ]
}

#[test]
fn an_accepted_group_name_reaches_jumpcloud_as_one_exact_filter_value() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(RunnerConfig::with_cases(48));
    let result = runner.run(&group_value(), |value| {
        let Ok(Request::Reset {
            target: ResetTarget::Group(group),
            ..
        }) = parse_command("reset", &options(&[("group", &value)]))
        else {
            // Refused by the parser: nothing is sent (the other properties check the error).
            return Ok(());
        };
        runtime.block_on(async {
            // Look-alikes the wildcard or a loose match would find.
            let decoys = ["IT Support", "admins", "x"];
            let mut builder = one_org().group(GroupSeed::new(group.as_str()));
            for decoy in decoys.iter().filter(|d| **d != group.as_str()) {
                builder = builder.group(GroupSeed::new(*decoy));
            }
            let sim = builder.start().await.unwrap();
            let found = client_for(&sim).group_by_name(&group).await;
            let found = found.map_err(|e| TestCaseError::fail(format!("{group:?}: {e}")))?;
            prop_assert_eq!(found.name.as_str(), group.as_str());

            let requests = sim.record().requests_to(Route::ListUserGroups);
            prop_assert_eq!(requests.len(), 1, "{:?}", requests);
            let expected = vec![
                ("filter".to_owned(), format!("name:eq:{}", group.as_str())),
                ("limit".to_owned(), "100".to_owned()),
                ("skip".to_owned(), "0".to_owned()),
                ("sort".to_owned(), "name".to_owned()),
            ];
            prop_assert_eq!(requests[0].query_pairs(), expected);
            let raw = requests[0].query.clone().unwrap_or_default();
            prop_assert!(
                !raw.chars()
                    .any(|c| matches!(c, '"' | '\\' | '{' | '}' | '$' | ' ' | '\n' | '*')),
                "raw query {:?}",
                raw
            );
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn a_missing_group_with_a_wildcard_name_finds_nothing_rather_than_a_look_alike() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sim = one_org()
            .group(GroupSeed::new("IT Support"))
            .group(GroupSeed::new("admins"))
            .start()
            .await
            .unwrap();
        let client = client_for(&sim);
        for typed in ["IT*", "*", "adm?ns", "admin*", "IT Support*"] {
            let Ok(Request::Reset {
                target: ResetTarget::Group(group),
                ..
            }) = parse_command("reset", &options(&[("group", typed)]))
            else {
                panic!("{typed:?} is a valid group name");
            };
            let found = client.group_by_name(&group).await;
            assert!(
                matches!(found, Err(jumpcloud::Error::NotFound { .. })),
                "{typed:?} found {found:?}"
            );
        }
    });
}

#[test]
fn an_accepted_username_reaches_jumpcloud_as_one_anchored_escaped_regex() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(RunnerConfig::with_cases(48));
    let strategy = prop_oneof![
        username(),
        "[a-z]{1,4}\\.[a-z]{1,4}",
        "[a-z]{1,3}[._-]{1,3}[a-z0-9]{0,3}",
    ];
    let result = runner.run(&strategy, |value| {
        let request = parse_command("expire", &options(&[("user", &value)])).unwrap();
        let Some(UserRef::Username(name)) = user_of(&request) else {
            // 24 lowercase hex digits: an id, looked up by path (covered in core).
            return Ok(());
        };
        let name: Username = name.clone();
        runtime.block_on(async {
            // Look-alikes an unescaped or unanchored pattern would also match.
            let lower = name.as_str().to_ascii_lowercase();
            let mut decoys = vec![format!("{lower}x"), format!("x{lower}")];
            if lower.contains(['.', '-', '_']) {
                decoys.push(lower.replace(['.', '-', '_'], "x"));
            }
            decoys.retain(|d| !d.eq_ignore_ascii_case(name.as_str()));
            decoys.sort();
            decoys.dedup();
            let mut builder = one_org().user(UserSeed::new(name.as_str()).active());
            for decoy in &decoys {
                builder = builder.user(UserSeed::new(decoy.as_str()).active());
            }
            let sim = builder.start().await.unwrap();
            let found = client_for(&sim).user_by_username(&name).await;
            let found = found.map_err(|e| TestCaseError::fail(format!("{name:?}: {e}")))?;
            prop_assert_eq!(found.username.as_str(), name.as_str());

            let searches = sim.record().requests_to(Route::SearchUsers);
            prop_assert!(!searches.is_empty());
            let escaped: String = name
                .as_str()
                .chars()
                .flat_map(|c| {
                    let escape = (c == '.').then_some('\\');
                    escape.into_iter().chain(std::iter::once(c))
                })
                .collect();
            let filter = json!({"and": [{"username": {"$regex": format!("(?i)^{escaped}$")}}]});
            for search in &searches {
                let body = search.body_json().unwrap_or_default();
                prop_assert_eq!(&body["filter"], &filter, "{}", search.body);
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn group_names_are_what_the_parser_accepts_and_nothing_more() {
    // The typed value is the one the parser hands over: no rewriting that a filter could see.
    for typed in [
        "IT & Ops: #1, 50%+ é*",
        "a\"b",
        "{\"$ne\":null}",
        "back\\slash",
    ] {
        let expected: GroupName = typed.parse().unwrap();
        assert_eq!(
            parse_command("reset", &options(&[("group", typed)])).unwrap(),
            Request::Reset {
                target: ResetTarget::Group(expected),
                dry_run: false
            }
        );
    }
}
