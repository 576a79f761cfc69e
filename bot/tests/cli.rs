//! The `passdesk` binary as an operator uses it: run as a process, judged by its exit code and
//! what it prints on stdout and stderr.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use passdesk_commands::audit::{AuditEvent, Auditor, Transition};
use passdesk_commands::{Actor, Platform};

/// The secrets the example configuration references, with values no output may contain.
const EXAMPLE_SECRETS: [(&str, &str); 6] = [
    ("PASSDESK_JUMPCLOUD_API_KEY", "jc-key-7d1e0c5b-SECRET"),
    ("PASSDESK_IM_CLIENT_SECRET", "im-client-4a9f-SECRET"),
    ("PASSDESK_SMTP_PASSWORD", "smtp-pass-91be-SECRET"),
    ("PASSDESK_DISCORD_BOT_TOKEN", "discord-token-55aa-SECRET"),
    ("PASSDESK_SLACK_SIGNING_SECRET", "slack-signing-0f0f-SECRET"),
    ("PASSDESK_SLACK_BOT_TOKEN", "xoxb-slack-token-77-SECRET"),
];

/// The secrets `fixtures/valid.toml` references.
const FIXTURE_SECRETS: [(&str, &str); 3] = [
    ("FIXTURE_JC_API_KEY", "fixture-jc-key-SECRET"),
    ("FIXTURE_SLACK_SIGNING_SECRET", "fixture-signing-SECRET"),
    ("FIXTURE_SLACK_BOT_TOKEN", "xoxb-fixture-SECRET"),
];

/// The inline secret written in `fixtures/invalid.toml`.
const INLINE_SECRET: &str = "jc-INLINE-secret-0123456789";

/// What one run of the binary did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Fails when any secret value shows up on stdout or stderr.
    fn assert_no_secret(&self, secrets: &[(&str, &str)]) {
        let all = self.all();
        for (name, value) in secrets {
            assert!(
                !all.contains(value),
                "the value of {name} leaked into the output:\n{all}"
            );
        }
    }
}

/// Runs `passdesk args…` with exactly `env` as its environment (nothing inherited, so neither
/// `PASSDESK_CONFIG` nor `RUST_LOG` of the machine running the tests changes the result).
fn passdesk(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let output = Command::new(env!("CARGO_BIN_EXE_passdesk"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the passdesk binary runs");
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn example_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../passdesk.example.toml")
        .display()
        .to_string()
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Help

#[test]
fn help_lists_every_subcommand() {
    let ran = passdesk(&["--help"], &[]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    for sub in [
        "run",
        "demo",
        "check-config",
        "register-commands",
        "audit",
        "jumpcloud",
        "identity-manager",
    ] {
        assert!(
            ran.stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "`{sub}` missing from --help:\n{}",
            ran.stdout
        );
    }
    for (group, subs) in [
        ("audit", &["verify", "repair"][..]),
        ("jumpcloud", &["send-password-reset", "expire-password"][..]),
        ("identity-manager", &["send-password-notification"][..]),
    ] {
        let ran = passdesk(&[group, "--help"], &[]);
        assert_eq!(ran.code, Some(0), "{ran:?}");
        for sub in subs {
            assert!(
                ran.stdout.contains(sub),
                "{group} --help lacks {sub}: {ran:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// check-config

#[test]
fn check_config_accepts_the_example_and_says_what_it_enables() {
    let config = example_config();
    let ran = passdesk(&["check-config", "--config", &config], &EXAMPLE_SECRETS);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout.starts_with(
            "ok: commands reset, expire, notify; adapters discord (gateway), slack; upstreams \
             jumpcloud (https://console.eu.jumpcloud.com, 2 tenants), identity manager"
        ),
        "{ran:?}"
    );
    ran.assert_no_secret(&EXAMPLE_SECRETS);
}

#[test]
fn check_config_reads_the_file_named_by_passdesk_config() {
    let config = fixture("valid.toml");
    let mut env = FIXTURE_SECRETS.to_vec();
    env.push(("PASSDESK_CONFIG", &config));
    let ran = passdesk(&["check-config"], &env);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout
            .starts_with("ok: commands reset, expire; adapters slack;"),
        "{ran:?}"
    );
    ran.assert_no_secret(&FIXTURE_SECRETS);
}

#[test]
fn check_config_without_a_file_says_how_to_give_one() {
    let ran = passdesk(&["check-config"], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stdout.contains("--config"), "{ran:?}");
    assert!(ran.stdout.contains("PASSDESK_CONFIG"), "{ran:?}");
}

#[test]
fn check_config_prints_every_problem_with_its_key_and_fix() {
    let config = fixture("invalid.toml");
    let ran = passdesk(&["check-config", "--config", &config], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");

    // The problems the library finds, each on its own line, with its key and fix.
    let expected = passdesk_config::load(&config, &passdesk_config::MapEnv::new())
        .expect_err("the fixture is invalid");
    assert!(expected.len() >= 4, "{expected}");
    let lines: Vec<&str> = ran.stdout.lines().collect();
    for error in &expected {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{} (line ", error.key)) && l.contains("fix: ")),
            "no line for {}:\n{}",
            error.key,
            ran.stdout
        );
    }
    // And by name, so the test does not only trust the library.
    for key in [
        "jumpcloud.api_key",
        "policy.expire.groups[0]",
        "policy.expire.approval",
        "limits.max_targets",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(key)),
            "{key} missing:\n{}",
            ran.stdout
        );
    }
    assert_eq!(
        lines.last().copied(),
        Some(format!("{} problems in {config}", expected.len()).as_str())
    );
    ran.assert_no_secret(&[("inline api_key", INLINE_SECRET)]);
}

#[test]
fn check_config_names_every_unset_secret_variable() {
    let config = example_config();
    let ran = passdesk(&["check-config", "--config", &config], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    for (name, _) in EXAMPLE_SECRETS {
        assert!(
            ran.stdout.contains(name),
            "{name} not named:\n{}",
            ran.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// run

/// A valid configuration with no chat platform (only the command line's group), in `dir`.
fn no_platform_config(dir: &tempfile::TempDir) -> String {
    let config = dir.path().join("passdesk.toml");
    let text = format!(
        r#"
[jumpcloud]
base_url = "http://127.0.0.1:9"
api_key = {{ env = "PASSDESK_JUMPCLOUD_API_KEY" }}

[groups.helpdesk]
cli_users = ["alice"]

[policy.reset]
groups = ["helpdesk"]
approval = "none"

[audit]
path = "{}"
"#,
        dir.path().join("audit.jsonl").display()
    );
    std::fs::write(&config, text).unwrap();
    config.display().to_string()
}

/// With every platform of the example served (Discord and Slack; `passdesk run` with a Slack
/// configuration is exercised in `slack_http.rs`, Discord's in `discord_http.rs`, since the
/// example's gateway would need the network), `run` still refuses a configuration that
/// names no platform: it never pretends to serve.
#[test]
fn run_validates_then_refuses_to_pretend_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    let config = no_platform_config(&dir);
    let ran = passdesk(&["run", "--config", &config], &EXAMPLE_SECRETS);
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("configuration ok"), "{ran:?}");
    assert!(
        ran.stderr.contains("no chat platform is configured"),
        "{ran:?}"
    );
    assert!(
        ran.stderr.contains("passdesk run does not start"),
        "{ran:?}"
    );
    assert!(
        ran.stdout.is_empty(),
        "run writes diagnostics to stderr: {ran:?}"
    );
    ran.assert_no_secret(&EXAMPLE_SECRETS);
}

#[test]
fn run_refuses_an_invalid_configuration_and_prints_every_problem() {
    let config = fixture("invalid.toml");
    let ran = passdesk(&["run", "--config", &config], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stderr.starts_with("error: refusing to start"),
        "{ran:?}"
    );
    for key in [
        "jumpcloud.api_key",
        "policy.expire.approval",
        "limits.max_targets",
    ] {
        assert!(ran.stderr.contains(key), "{key} missing: {ran:?}");
    }
    assert!(!ran.stderr.contains("not yet available"), "{ran:?}");
    ran.assert_no_secret(&[("inline api_key", INLINE_SECRET)]);
}

// ---------------------------------------------------------------------------------------------
// Logging

#[test]
fn logs_go_to_stderr_as_json_when_asked_and_follow_rust_log() {
    // Not the example: it would now be served (and its Discord gateway needs the network).
    let dir = tempfile::tempdir().unwrap();
    let config = no_platform_config(&dir);
    let ran = passdesk(
        &["--log-format", "json", "run", "--config", &config],
        &EXAMPLE_SECRETS,
    );
    assert_eq!(ran.code, Some(2), "{ran:?}");
    let logged: Vec<serde_json::Value> = ran
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let loaded = logged
        .iter()
        .find(|v| v["fields"]["message"] == "configuration loaded")
        .unwrap_or_else(|| panic!("no JSON log line for the load: {ran:?}"));
    assert_eq!(loaded["level"], "INFO");
    assert!(ran.stdout.is_empty(), "{ran:?}");
    ran.assert_no_secret(&EXAMPLE_SECRETS);

    // RUST_LOG replaces the default filter.
    let mut env = EXAMPLE_SECRETS.to_vec();
    env.push(("RUST_LOG", "error"));
    let quiet = passdesk(&["run", "--config", &config], &env);
    assert_eq!(quiet.code, Some(2), "{quiet:?}");
    assert!(!quiet.stderr.contains("configuration loaded"), "{quiet:?}");
    assert!(quiet.stderr.contains("nothing to serve"), "{quiet:?}");
}

// ---------------------------------------------------------------------------------------------
// audit verify / repair

/// Writes a real audit log of `events` events with the engine's [`Auditor`].
fn write_log(path: &Path, events: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let auditor = Auditor::builder(path).open().await.unwrap();
        let actor = Actor {
            platform: Platform::Slack,
            id: "U0REQUEST1".into(),
            display_name: "Jane Doe".into(),
            roles: vec![],
        };
        for i in 1..=events {
            let event = AuditEvent::builder(Transition::Requested, &actor, "reset", "7f3a9c")
                .target(&format!("jc.user{i}"))
                .build();
            auditor.record(event).await.unwrap();
        }
    });
}

fn log_in(dir: &tempfile::TempDir, name: &str, events: usize) -> PathBuf {
    let path = dir.path().join(name);
    write_log(&path, events);
    path
}

#[test]
fn audit_verify_reports_an_intact_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(&dir, "audit.jsonl", 3);
    let ran = passdesk(&["audit", "verify", log.to_str().unwrap()], &[]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout
            .starts_with(&format!("{}: ok, 3 events (last hash ", log.display())),
        "{ran:?}"
    );
}

#[test]
fn audit_verify_names_the_tampered_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(&dir, "audit.jsonl", 3);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("jc.user2"));
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, text.replace("jc.user2", "jc.userX")).unwrap();

    let ran = passdesk(&["audit", "verify", tampered.to_str().unwrap()], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stdout
            .starts_with(&format!("{}: line 2: ", tampered.display())),
        "{ran:?}"
    );
    assert!(ran.stdout.contains("altered"), "{ran:?}");

    // Several files: each is checked, and one bad log fails the run.
    let ran = passdesk(
        &[
            "audit",
            "verify",
            log.to_str().unwrap(),
            tampered.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stdout
            .contains(&format!("{}: ok, 3 events", log.display())),
        "{ran:?}"
    );
    assert!(
        ran.stdout
            .contains(&format!("{}: line 2: ", tampered.display())),
        "{ran:?}"
    );
    assert!(
        ran.stdout.ends_with("1 of 2 audit logs verified\n"),
        "{ran:?}"
    );
}

#[test]
fn audit_repair_sets_a_torn_last_line_aside_so_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(&dir, "audit.jsonl", 3);
    let bytes = std::fs::read(&log).unwrap();
    // A crash in the middle of writing the third line.
    let cut = bytes.len() - 10;
    std::fs::write(&log, &bytes[..cut]).unwrap();
    let path = log.to_str().unwrap();

    let ran = passdesk(&["audit", "verify", path], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stdout.contains("line 3: incomplete last line"),
        "{ran:?}"
    );
    assert!(
        ran.stdout
            .contains(&format!("passdesk audit repair {path}")),
        "{ran:?}"
    );

    let ran = passdesk(&["audit", "repair", path], &[]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(
        ran.stdout.contains("moved the incomplete last line"),
        "{ran:?}"
    );
    assert!(
        ran.stdout.contains(&format!("{path}: ok, 2 events")),
        "{ran:?}"
    );
    // The torn bytes are kept beside the log, not deleted.
    let aside: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".torn-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let torn = std::fs::read(&aside[0]).unwrap();
    let start = bytes[..cut].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    assert_eq!(torn, &bytes[start..cut]);

    let ran = passdesk(&["audit", "verify", path], &[]);
    assert_eq!(ran.code, Some(0), "{ran:?}");
}

#[test]
fn audit_repair_refuses_a_log_broken_before_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(&dir, "audit.jsonl", 3);
    let text = std::fs::read_to_string(&log).unwrap();
    let tampered = text.replace("jc.user1", "jc.userX");
    std::fs::write(&log, &tampered).unwrap();

    let ran = passdesk(&["audit", "repair", log.to_str().unwrap()], &[]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stdout.contains("refusing to repair"), "{ran:?}");
    assert!(ran.stdout.contains("line 1: "), "{ran:?}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        tampered,
        "left as evidence"
    );
}

// ---------------------------------------------------------------------------------------------
// Parity commands

#[test]
fn parity_commands_check_their_values_like_chat_does() {
    let ran = passdesk(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jane doe;",
        ],
        &[],
    );
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.starts_with("error: --username: "), "{ran:?}");
    assert!(!ran.stderr.contains("not available yet"), "{ran:?}");

    // Exactly one selector.
    let ran = passdesk(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jane.doe",
            "--group-name",
            "it",
        ],
        &[],
    );
    assert_eq!(ran.code, Some(2), "{ran:?}");
    assert!(ran.stderr.contains("cannot be used with"), "{ran:?}");
}

#[test]
fn both_password_sources_at_once_is_a_usage_error_that_does_not_echo_the_value() {
    // Running with --password is covered in tests/parity.rs.
    let password = "Tr0ub4dor&3-SECRET";
    let ran = passdesk(
        &[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--password",
            password,
            "--password-stdin",
        ],
        &[],
    );
    assert_eq!(ran.code, Some(2), "{ran:?}");
    ran.assert_no_secret(&[("--password", password)]);
}
