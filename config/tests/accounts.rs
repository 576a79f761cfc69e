//! `[accounts]`: requesters' own JumpCloud accounts by immutable platform id, validated like the
//! rest of the file, looked up per platform, and warned about when the own-account rule cannot
//! recognise a requester.

use passdesk_config::{
    Config, ConfigErrors, ConfigWarning, ErrorKind, MapEnv, Platform, Principal, WarningKind,
};

const JC_KEY: &str = "jc-key-7777-accounts";
const DISCORD_TOKEN: &str = "discord-token-8888-accounts";
const SLACK_SIGNING: &str = "slack-signing-9999-accounts";
const SLACK_TOKEN: &str = "xoxb-slack-token-0000-accounts";

/// Every platform served; helpdesk members named one by one on each of them.
const BASE: &str = r#"[jumpcloud]
api_key = { env = "JC_KEY" }

[discord]
application_id = "123456789012345678"
bot_token = { env = "DISCORD_TOKEN" }

[discord.guilds]
"423456789012345678" = "default"

[slack]
signing_secret = { env = "SLACK_SIGNING" }
bot_token = { env = "SLACK_TOKEN" }

[slack.teams]
T0ACME0001 = "default"

[groups.helpdesk]
discord_users = ["712345678901234567"]
slack_users = ["U0123ABCD"]
cli_users = ["alice"]

[policy.expire]
groups = ["helpdesk"]
channels = { discord = ["*"], slack = ["*"] }
approval = "none"

[targets]
protected_usernames = ["admin.*"]

[audit]
path = "/var/lib/passdesk/audit.jsonl"
"#;

/// The file line of line 1 of the text appended to `BASE`.
fn first_line() -> usize {
    BASE.lines().count() + 1
}

const ACCOUNTS: &str = r#"
[accounts.discord]
"712345678901234567" = "jane.doe"
[accounts.slack]
U0123ABCD = "Jane.Doe"
[accounts.cli]
alice = "alice.admin"
"#;

fn env() -> MapEnv {
    MapEnv::new()
        .with("JC_KEY", JC_KEY)
        .with("DISCORD_TOKEN", DISCORD_TOKEN)
        .with("SLACK_SIGNING", SLACK_SIGNING)
        .with("SLACK_TOKEN", SLACK_TOKEN)
}

fn config(extra: &str) -> Config {
    Config::from_toml_str(&format!("{BASE}{extra}"), &env())
        .unwrap_or_else(|e| panic!("expected a valid config:\n{e}"))
}

fn errors(extra: &str) -> ConfigErrors {
    match Config::from_toml_str(&format!("{BASE}{extra}"), &env()) {
        Ok(_) => panic!("expected errors for:\n{extra}"),
        Err(errors) => errors,
    }
}

fn discord(user_id: &str) -> Principal<'_> {
    Principal::Discord {
        user_id,
        role_ids: &[],
    }
}

fn slack(user_id: &str) -> Principal<'_> {
    Principal::Slack {
        user_id,
        usergroup_ids: &[],
    }
}

fn cli(user: &str) -> Principal<'_> {
    Principal::Cli { user }
}

#[test]
fn a_mapping_gives_each_requester_their_account_per_platform() {
    let config = config(ACCOUNTS);
    let username = |p: &Principal<'_>| config.account_of(p).map(|u| u.as_str().to_owned());

    assert_eq!(
        username(&discord("712345678901234567")).as_deref(),
        Some("jane.doe")
    );
    // Roles do not change who the requester is.
    let roles = vec!["112233445566778899".to_owned()];
    let with_roles = Principal::Discord {
        user_id: "712345678901234567",
        role_ids: &roles,
    };
    assert_eq!(username(&with_roles).as_deref(), Some("jane.doe"));
    assert_eq!(username(&slack("U0123ABCD")).as_deref(), Some("Jane.Doe"));
    assert_eq!(username(&cli("alice")).as_deref(), Some("alice.admin"));

    // Ids are per platform: the same text on another platform, another id, or something that is
    // not an id at all has no account.
    assert_eq!(username(&cli("U0123ABCD")), None);
    assert_eq!(username(&slack("alice")), None);
    assert_eq!(username(&discord("712345678901234568")), None);
    assert_eq!(username(&discord("jane.doe")), None);
    assert_eq!(username(&slack("U0OTHER01")), None);
    assert_eq!(username(&cli("bob")), None);

    assert_eq!(config.accounts.count(Platform::Discord), 1);
    assert_eq!(config.accounts.count(Platform::Slack), 1);
    assert_eq!(config.accounts.count(Platform::Cli), 1);
    assert_eq!(with_roles.platform(), Platform::Discord);
}

#[test]
fn the_own_account_is_recognised_ignoring_case_and_never_for_unmapped_requesters() {
    let config = config(ACCOUNTS);
    assert!(config.is_own_account(&slack("U0123ABCD"), "jane.doe"));
    assert!(config.is_own_account(&discord("712345678901234567"), "JANE.DOE"));
    assert!(!config.is_own_account(&discord("712345678901234567"), "jane.doe2"));
    assert!(!config.is_own_account(&cli("alice"), "jane.doe"));
    assert!(!config.is_own_account(&cli("bob"), "bob"));
}

#[test]
fn without_the_section_nobody_is_mapped() {
    let config = config("");
    assert!(config.accounts.is_empty());
    assert!(config.account_of(&cli("alice")).is_none());
}

#[test]
fn each_bad_key_or_value_is_reported_with_its_key_line_and_fix() {
    struct Case {
        name: &'static str,
        extra: &'static str,
        kind: ErrorKind,
        key: &'static str,
        /// Line within `extra` (1 = its first line, which is empty).
        line: usize,
        says: &'static [&'static str],
    }
    #[rustfmt::skip]
    let cases = [
        Case {
            name: "Discord name instead of an id",
            extra: "\n[accounts.discord]\njane = \"jane.doe\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.discord.jane", line: 3,
            says: &["not a valid Discord id", "Copy User ID"],
        },
        Case {
            name: "Discord id too short",
            extra: "\n[accounts.discord]\n\"1234\" = \"jane.doe\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.discord.1234", line: 3,
            says: &["17 to 20 digits"],
        },
        Case {
            name: "e-mail address instead of a Slack id",
            extra: "\n[accounts.slack]\n\"jane@acme.example\" = \"jane.doe\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.slack.\"jane@acme.example\"", line: 3,
            says: &["e-mail", "Copy member ID"],
        },
        Case {
            name: "Slack user group instead of a member",
            extra: "\n[accounts.slack]\nS0123ABCD = \"jane.doe\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.slack.S0123ABCD", line: 3,
            says: &["not a valid Slack user id", "U…"],
        },
        Case {
            name: "display name instead of a login name",
            extra: "\n[accounts.cli]\n\"Alice Smith\" = \"alice.admin\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.cli.\"Alice Smith\"", line: 3,
            says: &["command-line user name", "whoami"],
        },
        Case {
            name: "e-mail address instead of a username",
            extra: "\n[accounts.discord]\n\"712345678901234567\" = \"jane.doe@acme.example\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.discord.712345678901234567", line: 3,
            says: &["not a valid JumpCloud username", "'@'", "not the e-mail address"],
        },
        Case {
            name: "username not starting with a letter",
            extra: "\n[accounts.slack]\nU0123ABCD = \"1jane\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.slack.U0123ABCD", line: 3,
            says: &["\"1jane\"", "start with a letter", "Username"],
        },
        Case {
            name: "empty username",
            extra: "\n[accounts.cli]\nalice = \"\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.cli.alice", line: 3,
            says: &["empty"],
        },
        Case {
            name: "username with a space",
            extra: "\n[accounts.cli]\nalice = \"alice admin\"\n",
            kind: ErrorKind::InvalidValue, key: "accounts.cli.alice", line: 3,
            says: &["spaces"],
        },
        Case {
            name: "username that is not a string",
            extra: "\n[accounts.cli]\nalice = 42\n",
            kind: ErrorKind::WrongType, key: "accounts.cli.alice", line: 3,
            says: &["found an integer", "string"],
        },
        Case {
            name: "unknown platform",
            extra: "\n[accounts.teams]\nalice = \"alice.admin\"\n",
            kind: ErrorKind::UnknownKey, key: "accounts.teams", line: 2,
            says: &["unknown key"],
        },
        Case {
            name: "one Discord id written twice",
            extra: "\n[accounts.discord]\n\"712345678901234567\" = \"jane.doe\"\n\"0712345678901234567\" = \"john.doe\"\n",
            kind: ErrorKind::Conflict, key: "accounts.discord.712345678901234567", line: 3,
            says: &["same id as \"0712345678901234567\"", "leading zeros"],
        },
    ];
    for case in cases {
        let errors = errors(case.extra);
        assert_eq!(
            errors.len(),
            1,
            "{}: one mistake, one error:\n{errors}",
            case.name
        );
        let e = &errors.errors[0];
        assert_eq!(
            (e.kind, e.key.as_str()),
            (case.kind, case.key),
            "{}: {e}",
            case.name
        );
        assert_eq!(
            e.line,
            Some(first_line() + case.line - 1),
            "{}: {e}",
            case.name
        );
        assert!(!e.fix.is_empty(), "{}: no fix", case.name);
        let shown = e.to_string();
        for words in case.says {
            assert!(
                shown.contains(words),
                "{}: {words:?} not in {shown}",
                case.name
            );
        }
    }
}

#[test]
fn a_bad_key_and_a_bad_value_are_both_reported() {
    let errors = errors(
        "\n[accounts.discord]\njane = \"jane@acme.example\"\n[accounts.cli]\nalice = \"ok\"\n\"bob smith\" = \"bob\"\n",
    );
    let found: Vec<(&str, bool)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.problem.contains("JumpCloud username")))
        .collect();
    assert_eq!(
        found,
        [
            ("accounts.discord.jane", false),
            ("accounts.discord.jane", true),
            ("accounts.cli.\"bob smith\"", false),
        ],
        "{errors}"
    );
}

#[test]
fn debug_shows_the_mapping_and_no_secret() {
    let config = config(ACCOUNTS);
    let shown = format!("{config:?}\n{config:#?}");
    for secret in [JC_KEY, DISCORD_TOKEN, SLACK_SIGNING, SLACK_TOKEN] {
        assert!(!shown.contains(secret), "{secret} shown by Debug");
    }
    assert!(
        shown.contains("alice.admin") && shown.contains("REDACTED"),
        "{shown}"
    );
}

fn warnings_of(extra: &str, edits: &[(&str, &str)]) -> Vec<ConfigWarning> {
    let mut text = format!("{BASE}{extra}");
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in the config");
        text = text.replacen(from, to, 1);
    }
    Config::from_toml_str(&text, &env())
        .unwrap_or_else(|e| panic!("{e}"))
        .warnings()
}

fn summary(warnings: &[ConfigWarning]) -> Vec<(WarningKind, &str)> {
    warnings.iter().map(|w| (w.kind, w.key.as_str())).collect()
}

#[test]
fn no_mapping_at_all_is_one_plain_warning() {
    let warnings = warnings_of("", &[]);
    assert_eq!(
        summary(&warnings),
        [(WarningKind::NoAccountMapping, "accounts")]
    );
    let shown = warnings[0].to_string();
    for words in [
        "no [accounts] mapping: the own-account protection cannot recognise requesters",
        "Discord, Slack, the command line",
        "relies on [targets] protected_groups and protected_usernames",
        "fix: map each requester's id",
    ] {
        assert!(shown.contains(words), "{words:?} not in {shown}");
    }
    // With nothing in [targets] either, the warning says what that means.
    let warnings = warnings_of("", &[("protected_usernames = [\"admin.*\"]", "")]);
    assert!(
        warnings[0]
            .problem
            .contains("may act on their own accounts"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_full_mapping_or_allow_self_leaves_nothing_to_warn_about() {
    assert_eq!(warnings_of(ACCOUNTS, &[]), []);
    // With allow_self the own-account rule never applies, so a missing mapping weakens nothing.
    assert_eq!(
        warnings_of(
            "",
            &[(
                "approval = \"none\"",
                "approval = \"none\"\nallow_self = true"
            )]
        ),
        []
    );
}

#[test]
fn a_platform_without_entries_is_named() {
    let slack_only = "\n[accounts.slack]\nU0123ABCD = \"jane.doe\"\n";
    let warnings = warnings_of(slack_only, &[]);
    assert_eq!(
        summary(&warnings),
        [
            (WarningKind::NoAccountMapping, "accounts.discord"),
            (WarningKind::NoAccountMapping, "accounts.cli"),
        ]
    );
    assert!(
        warnings[0]
            .problem
            .contains("no requester on Discord is mapped"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].fix.contains("[accounts.cli]"),
        "{}",
        warnings[1]
    );

    // A platform no request can come from needs no mapping: Discord left out of the policy's
    // channels, and the command line with no cli_users.
    let warnings = warnings_of(
        slack_only,
        &[
            (
                "channels = { discord = [\"*\"], slack = [\"*\"] }",
                "channels = { slack = [\"*\"] }",
            ),
            ("cli_users = [\"alice\"]", ""),
        ],
    );
    assert_eq!(warnings, []);
}

#[test]
fn requesters_named_in_groups_without_an_entry_are_listed() {
    let extra = "\n[accounts.discord]\n\"712345678901234567\" = \"jane.doe\"\n\
                 [accounts.slack]\nU0123ABCD = \"jane.doe\"\n[accounts.cli]\nbob = \"bob.admin\"\n";
    let warnings = warnings_of(
        extra,
        &[(
            "cli_users = [\"alice\"]",
            "cli_users = [\"alice\", \"bob\", \"carol\"]",
        )],
    );
    assert_eq!(
        summary(&warnings),
        [(WarningKind::UnmappedRequesters, "accounts.cli")]
    );
    let shown = warnings[0].to_string();
    assert!(
        shown.contains("cannot recognise them: alice, carol"),
        "{shown}"
    );
    assert!(!shown.contains("bob"), "{shown}");

    // Long lists are cut short.
    let many = (1..=8)
        .map(|i| format!("\"user{i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let edit = format!("cli_users = [{many}]");
    let warnings = warnings_of(extra, &[("cli_users = [\"alice\"]", &edit)]);
    assert!(
        warnings[0]
            .problem
            .ends_with("user1, user2, user3, user4, user5 and 3 more"),
        "{}",
        warnings[0]
    );
}

#[test]
fn members_through_roles_count_as_requesters_but_cannot_be_listed() {
    // Only a role on Discord: the platform is in use, and with no Discord entry it is named.
    let extra =
        "\n[accounts.slack]\nU0123ABCD = \"jane.doe\"\n[accounts.cli]\nalice = \"alice.admin\"\n";
    let edits = [(
        "discord_users = [\"712345678901234567\"]",
        "discord_roles = [\"112233445566778899\"]",
    )];
    assert_eq!(
        summary(&warnings_of(extra, &edits)),
        [(WarningKind::NoAccountMapping, "accounts.discord")]
    );
    // With one Discord entry, role members cannot be checked one by one: no warning.
    let extra = format!("{extra}[accounts.discord]\n\"712345678901234567\" = \"jane.doe\"\n");
    assert_eq!(warnings_of(&extra, &edits), []);
}
