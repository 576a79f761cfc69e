//! Validation, table-driven: each kind of mistake once, with the key path and line the author
//! needs, then several mistakes reported together.

use passdesk_config::{Config, ConfigErrors, ErrorKind, MapEnv};

/// The smallest valid configuration; cases edit it by replacing one fragment.
const MINIMAL: &str = r#"[jumpcloud]
api_key = { env = "JC_KEY" }

[groups.helpdesk]
cli_users = ["alice"]

[groups.approver]
cli_users = ["bob"]

[policy.expire]
groups = ["helpdesk"]
approval = "none"

[audit]
path = "/var/lib/passdesk/audit.jsonl"
"#;

const DISCORD: &str = r#"
[discord]
application_id = "123456789012345678"
bot_token = { env = "DISCORD_TOKEN" }

[discord.guilds]
"423456789012345678" = "default"
"#;

fn env() -> MapEnv {
    MapEnv::new()
        .with("JC_KEY", "jc-key-value-123")
        .with("DISCORD_TOKEN", "discord-token-value-456")
}

/// `MINIMAL` with each `(from, to)` replacement applied; every `from` must be present.
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = MINIMAL.to_owned();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "fragment {from:?} not in the base config"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

fn errors_of(text: &str) -> ConfigErrors {
    match Config::from_toml_str(text, &env()) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(errors) => errors,
    }
}

#[test]
fn the_minimal_config_is_valid() {
    Config::from_toml_str(MINIMAL, &env()).unwrap();
    Config::from_toml_str(&format!("{MINIMAL}{DISCORD}"), &env()).unwrap();
}

#[test]
fn each_mistake_is_reported_with_its_key_line_and_fix() {
    struct Case {
        name: &'static str,
        edits: &'static [(&'static str, &'static str)],
        with_discord: bool,
        kind: ErrorKind,
        key: &'static str,
        line: Option<usize>,
        /// Words the problem or fix must contain.
        says: &'static [&'static str],
    }
    #[rustfmt::skip]
    let cases = [
        Case {
            name: "unknown key, with its path",
            edits: &[("[jumpcloud]\n", "[jumpcloud]\nregoin = \"eu\"\n")],
            with_discord: false, kind: ErrorKind::UnknownKey, key: "jumpcloud.regoin", line: Some(2),
            says: &["unknown key", "spelling"],
        },
        Case {
            name: "unknown command name",
            edits: &[("[policy.expire]", "[policy.expiry]")],
            with_discord: false, kind: ErrorKind::UnknownKey, key: "policy.expiry", line: Some(10),
            says: &["reset, expire and notify"],
        },
        Case {
            name: "inline secret",
            edits: &[("api_key = { env = \"JC_KEY\" }", "api_key = \"jc-inline-secret-789\"")],
            with_discord: false, kind: ErrorKind::InlineSecret, key: "jumpcloud.api_key", line: Some(2),
            says: &["inline", "{ env = \"PASSDESK_JUMPCLOUD_API_KEY\" }", "{ file ="],
        },
        Case {
            name: "missing environment variable",
            edits: &[("JC_KEY", "JC_KEY_UNSET")],
            with_discord: false, kind: ErrorKind::SecretUnavailable, key: "jumpcloud.api_key", line: Some(2),
            says: &["JC_KEY_UNSET", "not set"],
        },
        Case {
            name: "unreadable secret file",
            edits: &[("{ env = \"JC_KEY\" }", "{ file = \"/nonexistent/passdesk/jc-key\" }")],
            with_discord: false, kind: ErrorKind::SecretUnavailable, key: "jumpcloud.api_key", line: Some(2),
            says: &["/nonexistent/passdesk/jc-key", "could not read"],
        },
        Case {
            name: "secret reference naming both env and file",
            edits: &[("{ env = \"JC_KEY\" }", "{ env = \"JC_KEY\", file = \"/run/secrets/jc\" }")],
            with_discord: false, kind: ErrorKind::Conflict, key: "jumpcloud.api_key", line: Some(2),
            says: &["only one"],
        },
        Case {
            name: "unknown group in a policy",
            edits: &[("groups = [\"helpdesk\"]", "groups = [\"helpdesc\"]")],
            with_discord: false, kind: ErrorKind::UnknownGroup, key: "policy.expire.groups[0]", line: Some(11),
            says: &["helpdesc", "approver, helpdesk"],
        },
        Case {
            name: "empty group",
            edits: &[("[groups.approver]\ncli_users = [\"bob\"]", "[groups.approver]")],
            with_discord: false, kind: ErrorKind::EmptyGroup, key: "groups.approver", line: Some(7),
            says: &["no members"],
        },
        Case {
            name: "bad Discord id",
            edits: &[("cli_users = [\"alice\"]", "discord_roles = [\"Helpdesk\"]")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "groups.helpdesk.discord_roles[0]", line: Some(5),
            says: &["Discord id", "Copy ID"],
        },
        Case {
            name: "e-mail address instead of a Slack user id",
            edits: &[("cli_users = [\"alice\"]", "slack_users = [\"alice@acme.example\"]")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "groups.helpdesk.slack_users[0]", line: Some(5),
            says: &["e-mail", "immutable ids"],
        },
        Case {
            name: "Slack user group listed as a user",
            edits: &[("cli_users = [\"alice\"]", "slack_users = [\"S0123ABCD\"]")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "groups.helpdesk.slack_users[0]", line: Some(5),
            says: &["slack_usergroups"],
        },
        Case {
            name: "confirmation TTL out of range",
            edits: &[("[audit]", "[limits]\nconfirmation_ttl_seconds = 5\n\n[audit]")],
            with_discord: false, kind: ErrorKind::OutOfRange, key: "limits.confirmation_ttl_seconds", line: Some(15),
            says: &["10 to 3600"],
        },
        Case {
            name: "concurrency out of range",
            edits: &[("[audit]", "[bulk]\nconcurrency = 65\n\n[audit]")],
            with_discord: false, kind: ErrorKind::OutOfRange, key: "bulk.concurrency", line: Some(15),
            says: &["1 to 64"],
        },
        Case {
            name: "max targets over the ceiling",
            edits: &[("[audit]", "[limits]\nmax_targets = 10001\n\n[audit]")],
            with_discord: false, kind: ErrorKind::OutOfRange, key: "limits.max_targets", line: Some(15),
            says: &["1 to 10000"],
        },
        Case {
            name: "rate not above zero",
            edits: &[("[audit]", "[bulk]\nrate_per_second = 0\n\n[audit]")],
            with_discord: false, kind: ErrorKind::OutOfRange, key: "bulk.rate_per_second", line: Some(15),
            says: &["above 0"],
        },
        Case {
            name: "approval without approvers",
            edits: &[("approval = \"none\"", "approval = \"always\"")],
            with_discord: false, kind: ErrorKind::MissingApprovers, key: "policy.expire.approval", line: Some(12),
            says: &["approver_groups"],
        },
        Case {
            name: "bulk approval without a threshold",
            edits: &[("approval = \"none\"", "approval = \"bulk\"\napprover_groups = [\"approver\"]")],
            with_discord: false, kind: ErrorKind::Missing, key: "policy.expire.bulk_threshold", line: Some(10),
            says: &["bulk_threshold = 10"],
        },
        Case {
            name: "approval rule misspelt",
            edits: &[("approval = \"none\"", "approval = \"sometimes\"")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "policy.expire.approval", line: Some(12),
            says: &["\"none\", \"bulk\"", "\"always\""],
        },
        Case {
            name: "policy allowing nobody",
            edits: &[("groups = [\"helpdesk\"]", "groups = []")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "policy.expire.groups", line: Some(11),
            says: &["allows nobody", "remove [policy.expire]"],
        },
        Case {
            name: "empty channel list",
            edits: &[("approval = \"none\"", "approval = \"none\"\nchannels = { discord = [] }")],
            with_discord: true, kind: ErrorKind::InvalidValue, key: "policy.expire.channels.discord", line: Some(13),
            says: &["[\"*\"]", "remove the key"],
        },
        Case {
            name: "wildcard mixed with channel ids",
            edits: &[("approval = \"none\"", "approval = \"none\"\nchannels = { discord = [\"*\", \"623456789012345678\"] }")],
            with_discord: true, kind: ErrorKind::Conflict, key: "policy.expire.channels.discord", line: Some(13),
            says: &["either"],
        },
        Case {
            name: "approval on Discord without an approvals channel",
            edits: &[("approval = \"none\"", "approval = \"always\"\napprover_groups = [\"approver\"]\nchannels = { discord = [\"*\"] }")],
            with_discord: true, kind: ErrorKind::Missing, key: "discord.approvals_channel", line: Some(19),
            says: &["approvals_channel ="],
        },
        Case {
            name: "wrong TOML type",
            edits: &[("[audit]", "[limits]\nmax_targets = \"500\"\n\n[audit]")],
            with_discord: false, kind: ErrorKind::WrongType, key: "limits.max_targets", line: Some(15),
            says: &["found a string", "whole number"],
        },
        Case {
            name: "id written as a number",
            edits: &[("cli_users = [\"alice\"]", "discord_roles = [112233445566778899]")],
            with_discord: false, kind: ErrorKind::WrongType, key: "groups.helpdesk.discord_roles[0]", line: Some(5),
            says: &["double quotes"],
        },
        Case {
            name: "TOML syntax",
            edits: &[("cli_users = [\"alice\"]", "cli_users = = [\"alice\"]")],
            with_discord: false, kind: ErrorKind::Syntax, key: "", line: Some(5),
            says: &["invalid TOML"],
        },
        Case {
            name: "audit section missing",
            edits: &[("[audit]\npath = \"/var/lib/passdesk/audit.jsonl\"\n", "")],
            with_discord: false, kind: ErrorKind::Missing, key: "audit", line: None,
            says: &["path ="],
        },
        Case {
            name: "a JumpCloud command without [jumpcloud]",
            edits: &[("[jumpcloud]\napi_key = { env = \"JC_KEY\" }\n", "")],
            with_discord: false, kind: ErrorKind::Missing, key: "jumpcloud", line: None,
            says: &["enables expire", "remove [policy.expire]"],
        },
        Case {
            name: "guild mapped to an undefined tenant",
            edits: &[],
            with_discord: true, kind: ErrorKind::UnknownTenant, key: "discord.guilds.423456789012345678", line: Some(22),
            says: &["[jumpcloud.tenants]"],
        },
        Case {
            name: "both region and base_url",
            edits: &[("[jumpcloud]\n", "[jumpcloud]\nregion = \"eu\"\nbase_url = \"https://console.eu.jumpcloud.com\"\n")],
            with_discord: false, kind: ErrorKind::Conflict, key: "jumpcloud.base_url", line: Some(3),
            says: &["region"],
        },
        Case {
            name: "plain http to a remote host",
            edits: &[("[jumpcloud]\n", "[jumpcloud]\nbase_url = \"http://console.jumpcloud.com\"\n")],
            with_discord: false, kind: ErrorKind::InvalidValue, key: "jumpcloud.base_url", line: Some(2),
            says: &["https"],
        },
    ];
    for case in cases {
        let mut text = edited(case.edits);
        if case.with_discord {
            text.push_str(DISCORD);
            if case.name.starts_with("guild mapped") {
                text = text.replacen("= \"default\"", "= \"acme\"", 1);
            }
        }
        let errors = errors_of(&text);
        let found = errors
            .iter()
            .find(|e| e.kind == case.kind && e.key == case.key)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no {:?} at {:?} in:\n{errors}",
                    case.name, case.kind, case.key
                )
            });
        assert_eq!(found.line, case.line, "{}: {found}", case.name);
        assert!(!found.fix.is_empty(), "{}: no fix", case.name);
        let shown = found.to_string();
        for words in case.says {
            assert!(
                shown.contains(words),
                "{}: {words:?} not in {shown}",
                case.name
            );
        }
        // The TOML parser may add follow-on errors after a syntax error; everything else is
        // reported once.
        if case.kind != ErrorKind::Syntax {
            assert_eq!(
                errors.len(),
                1,
                "{}: one mistake, one error:\n{errors}",
                case.name
            );
        }
    }
}

#[test]
fn an_inline_secret_is_never_echoed() {
    for value in ["\"jc-inline-secret-789\"", "12345678987654321", "true"] {
        let text = edited(&[("{ env = \"JC_KEY\" }", value)]);
        let errors = errors_of(&text);
        let shown = format!("{errors} {errors:?}");
        let bare = value.trim_matches('"');
        assert!(!shown.contains(bare), "{bare} echoed in {shown}");
        assert_eq!(errors.errors[0].kind, ErrorKind::InlineSecret, "{shown}");
    }
    // A syntax error on a secret's line shows the line number, not the line.
    let text = edited(&[("{ env = \"JC_KEY\" }", "jc-unquoted-secret-000")]);
    let errors = errors_of(&text);
    assert_eq!(errors.errors[0].kind, ErrorKind::Syntax);
    assert_eq!(errors.errors[0].line, Some(2));
    assert!(!format!("{errors} {errors:?}").contains("jc-unquoted-secret-000"));
}

#[test]
fn several_mistakes_are_reported_together_in_file_order() {
    let text = edited(&[
        ("[jumpcloud]\n", "[jumpcloud]\ntimeout = 30\n"),
        ("JC_KEY", "JC_KEY_UNSET"),
        ("cli_users = [\"alice\"]", "discord_users = [\"42\"]"),
        ("approval = \"none\"", "approval = \"always\""),
        ("[audit]", "[bulk]\nconcurrency = 0\n\n[audit]"),
    ]);
    let errors = errors_of(&text);
    let kinds: Vec<(ErrorKind, &str)> = errors.iter().map(|e| (e.kind, e.key.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (ErrorKind::UnknownKey, "jumpcloud.timeout"),
            (ErrorKind::SecretUnavailable, "jumpcloud.api_key"),
            (ErrorKind::InvalidValue, "groups.helpdesk.discord_users[0]"),
            (ErrorKind::MissingApprovers, "policy.expire.approval"),
            (ErrorKind::OutOfRange, "bulk.concurrency"),
        ],
        "{errors}"
    );
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), 5, "one per line:\n{shown}");
    assert!(shown.lines().all(|l| l.contains("; fix: ")), "{shown}");
    assert!(
        shown.starts_with("jumpcloud.timeout (line 2): unknown key"),
        "{shown}"
    );
}

#[test]
fn every_unknown_key_is_reported_not_just_the_first() {
    let text = edited(&[
        ("[jumpcloud]\n", "[jumpcloud]\napi_kye = 1\n"),
        (
            "cli_users = [\"alice\"]",
            "cli_users = [\"alice\"]\nslack_user = [\"U0123ABCD\"]",
        ),
        ("path = ", "rotate = true\npath = "),
    ]);
    let errors = errors_of(&text);
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "jumpcloud.api_kye",
            "groups.helpdesk.slack_user",
            "audit.rotate"
        ],
        "{errors}"
    );
    assert!(errors.iter().all(|e| e.kind == ErrorKind::UnknownKey));
}

#[test]
fn wrong_types_are_all_reported_with_the_unknown_keys() {
    let text = edited(&[
        (
            "[jumpcloud]\n",
            "[jumpcloud]\ntimeout_seconds = \"30\"\nextra = 1\n",
        ),
        ("[audit]", "[limits]\nmax_targets = true\n\n[audit]"),
    ]);
    let errors = errors_of(&text);
    let kinds: Vec<(ErrorKind, &str)> = errors.iter().map(|e| (e.kind, e.key.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (ErrorKind::WrongType, "jumpcloud.timeout_seconds"),
            (ErrorKind::UnknownKey, "jumpcloud.extra"),
            (ErrorKind::WrongType, "limits.max_targets"),
        ],
        "{errors}"
    );
}

#[test]
fn keys_that_are_not_bare_are_quoted_in_paths() {
    let text = edited(&[("[groups.approver]", "[groups.\"Help Desk\"]")]);
    let errors = errors_of(&text);
    let e = errors
        .at("groups.\"Help Desk\"")
        .unwrap_or_else(|| panic!("{errors}"));
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_eq!(e.line, Some(7));
}
