//! The command-line parity commands as scripts and administrators use them: the `passdesk`
//! binary run as a process on the demo's fresh simulators (`--demo`), or on a configuration
//! pointing at a JumpCloud simulator, judged by its exit code, its stdout (the vendor tools'
//! output), its stderr, the simulators' record of what was really sent (`--print-sent`) and
//! the audit log.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use passdesk_sim::demo::SECOND_ORG_ID;
use passdesk_sim::jumpcloud::{DEFAULT_API_KEY, DEFAULT_ORG_ID};
use serde_json::Value;

/// The demo's `jcuser.one` (pending, in NewUsers).
const JCUSER_ONE_ID: &str = "5f0c00000000000000000001";
/// The demo's `jane.doe` (active).
const JANE_DOE_ID: &str = "5f0c00000000000000000006";

/// A JumpCloud policy without approvals, so that every vendor example can run from the
/// command line (the built-in demo policy sends group resets and notifications to an
/// approver). [`NOTIFY_POLICY`] adds notifications.
const JUMPCLOUD_POLICY: &str = r#"
[groups.helpdesk]
cli_users = ["cli", "alice"]

[policy.reset]
groups = ["helpdesk"]
approval = "none"

[policy.expire]
groups = ["helpdesk"]
approval = "none"

[targets]
protected_groups = ["Admins"]

[accounts.cli]
cli = "cli.operator"
alice = "alice.operator"

[limits]
cooldown_seconds = 0
max_per_hour = 1000
"#;

/// Notifications without approval.
const NOTIFY_POLICY: &str = r#"
[policy.notify]
groups = ["helpdesk"]
approval = "none"
"#;

/// What one run of the binary did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The audit log's events, in order (`requested`, `confirmed`, …).
    audit: Vec<Value>,
}

impl Ran {
    fn events(&self) -> Vec<&str> {
        self.audit
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect()
    }

    /// The line of `--print-sent` that starts with `prefix`.
    fn sent(&self, prefix: &str) -> &str {
        let record = self
            .stderr
            .split("--- what the demo simulators recorded ---")
            .nth(1)
            .unwrap_or_else(|| panic!("no record printed:\n{}", self.stderr));
        record
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in the record:\n{record}"))
    }

    /// The stdout rows of a table (after the header and dash lines), split on whitespace runs.
    fn rows(&self) -> Vec<Vec<&str>> {
        let mut lines = self.stdout.lines();
        let header = lines.next().unwrap_or_default();
        let dashes = lines.next().unwrap_or_default();
        assert!(dashes.starts_with('-'), "not a table:\n{}", self.stdout);
        assert!(!header.is_empty());
        lines.map(|l| l.split_whitespace().collect()).collect()
    }
}

/// A scratch directory with the audit log and, when asked, a configuration.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn no_approval_policy(&self) -> String {
        self.file("policy.toml", &format!("{JUMPCLOUD_POLICY}{NOTIFY_POLICY}"))
    }

    /// Runs `passdesk args… --demo --audit-log <scratch> --print-sent` with `stdin` as standard
    /// input (never a terminal) and nothing inherited from the environment but `env`.
    fn demo(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Ran {
        let audit = self.audit_log().display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--demo", "--audit-log", &audit, "--print-sent"]);
        run(&all, stdin, env, Some(&self.audit_log()))
    }
}

/// Runs the binary with exactly `env`, `stdin` piped in, and reads `audit` afterwards.
fn run(args: &[&str], stdin: &str, env: &[(&str, &str)], audit: Option<&Path>) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passdesk"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the passdesk binary runs");
    let mut input = child.stdin.take().unwrap();
    // The child may exit before reading (a usage error): a closed pipe is fine.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let output = child.wait_with_output().unwrap();
    let audit = audit
        .filter(|path| path.exists())
        .map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        })
        .unwrap_or_default();
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        audit,
    }
}

/// The usernames of a `--print-sent` line such as `JumpCloud activation mails (2): a, b`.
fn names(line: &str) -> Vec<&str> {
    match line.split_once("): ") {
        Some((_, names)) => names.split(", ").collect(),
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The vendor examples

#[test]
fn send_to_one_user_by_id_prints_user_id_and_reset_email() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--user-id",
            JCUSER_ONE_ID,
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(
        ran.stdout,
        format!(
            "UserID                   ResetEmail\n------                   ----------\n{JCUSER_ONE_ID} Sent\n"
        )
    );
    assert_eq!(
        ran.sent("JumpCloud activation mails"),
        "JumpCloud activation mails (1): jcuser.one"
    );
    assert_eq!(
        ran.sent("JumpCloud reset mails"),
        "JumpCloud reset mails: none"
    );
    assert_eq!(ran.events(), ["requested", "confirmed", "executed"]);
    for event in &ran.audit {
        assert_eq!(event["platform"], "cli");
        assert_eq!(event["actor"]["id"], "cli", "the default command-line user");
    }
}

#[test]
fn send_by_username_prints_username_and_reset_email() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jcuser.one",
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(ran.rows(), [["jcuser.one", "Sent"]]);
    assert!(
        ran.stdout.starts_with("Username   ResetEmail\n"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        names(ran.sent("JumpCloud activation mails")),
        ["jcuser.one"]
    );

    // An active user gets a reset mail instead.
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jane.doe",
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(ran.rows(), [["jane.doe", "Sent"]]);
    assert_eq!(names(ran.sent("JumpCloud reset mails")), ["jane.doe"]);
}

#[test]
fn send_to_a_groups_members_gives_one_row_per_member() {
    let scratch = Scratch::new();
    let policy = scratch.no_approval_policy();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--group-name",
            "NewUsers",
            "--config",
            &policy,
            "--yes",
        ],
        "",
        &[],
    );
    // Suspended and staged members are skipped on purpose: that is not a failure.
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(ran.stdout.starts_with("Username"), "{}", ran.stdout);
    let rows = ran.rows();
    assert_eq!(rows.len(), 27, "{}", ran.stdout);
    let sent: Vec<&str> = rows
        .iter()
        .filter(|r| r[2] == "Sent")
        .map(|r| r[0])
        .collect();
    let skipped: Vec<&str> = rows
        .iter()
        .filter(|r| r[2] == "Skipped:")
        .map(|r| r[0])
        .collect();
    assert_eq!(sent.len(), 24, "{}", ran.stdout);
    let mut skipped_sorted = skipped.clone();
    skipped_sorted.sort_unstable();
    assert_eq!(skipped_sorted, ["grace.kim", "oliver.brown", "sam.taylor"]);
    for row in &rows {
        assert_eq!(row[1].len(), 24, "every row has the user id: {row:?}");
    }
    // What the rows say was sent is exactly what JumpCloud recorded.
    let mut recorded = names(ran.sent("JumpCloud activation mails"));
    recorded.extend(names(ran.sent("JumpCloud reset mails")));
    recorded.sort_unstable();
    let mut sent_sorted = sent.clone();
    sent_sorted.sort_unstable();
    assert_eq!(recorded, sent_sorted);
    assert!(names(ran.sent("JumpCloud reset mails")).contains(&"nina.berg"));
    assert_eq!(ran.events(), ["requested", "confirmed", "executed"]);
    assert_eq!(ran.audit[2]["summary"]["done"], 24, "{:#}", ran.audit[2]);
}

#[test]
fn a_group_reset_that_needs_an_approver_is_refused_and_nothing_is_sent() {
    // The built-in demo policy asks an approver for more than 10 users.
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--group-name",
            "NewUsers",
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("asks for an approver's approval here, which the command line cannot obtain"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.sent("JumpCloud activation mails"),
        "JumpCloud activation mails: none"
    );
    assert_eq!(
        ran.sent("JumpCloud reset mails"),
        "JumpCloud reset mails: none"
    );
    // Nothing confirmed, nothing left waiting: cancelled on the record.
    assert_eq!(ran.events(), ["requested", "cancelled"]);
}

#[test]
fn send_to_users_not_activated_created_in_the_last_two_days() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--inactive",
            "--created-within-days",
            "2",
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let rows = ran.rows();
    let usernames: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    for recent in [
        "new.hire1",
        "new.hire2",
        "ana.silva",
        "lucas.martin",
        "fatima.zahra",
    ] {
        assert!(
            usernames.contains(&recent),
            "{recent} missing:\n{}",
            ran.stdout
        );
    }
    for older in ["maria.garcia", "li.wei", "sam.taylor", "jane.doe"] {
        assert!(
            !usernames.contains(&older),
            "{older} listed:\n{}",
            ran.stdout
        );
    }
    // The staged user created 40 hours ago is listed, and skipped.
    let grace = rows.iter().find(|r| r[0] == "grace.kim").unwrap();
    assert_eq!(grace[2..4], ["Skipped:", "staged"]);
    let sent: Vec<&str> = rows
        .iter()
        .filter(|r| r[2] == "Sent")
        .map(|r| r[0])
        .collect();
    // Targets run concurrently: the mails reach JumpCloud in any order; the table keeps the
    // targets' order. Every "Sent" row is one mail, and no mail is missing from the table.
    let mut mailed = names(ran.sent("JumpCloud activation mails"));
    mailed.sort_unstable();
    let mut sent = sent;
    sent.sort_unstable();
    assert_eq!(mailed, sent);
    assert_eq!(
        ran.sent("JumpCloud reset mails"),
        "JumpCloud reset mails: none"
    );
}

#[test]
fn expire_by_id_in_an_organisation_prints_true() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "expire-password",
            "--id",
            JANE_DOE_ID,
            "--org-id",
            DEFAULT_ORG_ID,
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(ran.stdout, "True\n");
    assert_eq!(
        ran.sent("JumpCloud password expirations"),
        "JumpCloud password expirations (1): jane.doe"
    );
    assert_eq!(ran.events(), ["requested", "confirmed", "executed"]);
    for event in &ran.audit {
        assert_eq!(
            event["tenant"], DEFAULT_ORG_ID,
            "the organisation is on the record"
        );
    }

    // An organisation the key cannot reach: JumpCloud refuses it (so the id was sent as
    // x-org-id), nothing is expired, and stdout stays empty.
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "expire-password",
            "--id",
            JANE_DOE_ID,
            "--org-id",
            SECOND_ORG_ID,
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("does not accept the configured organisation id"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.sent("JumpCloud password expirations"),
        "JumpCloud password expirations: none"
    );
    // The log is resumed: the first run's three events, then this one's.
    assert_eq!(ran.events()[3..], ["requested", "failed"]);
}

#[test]
fn the_notification_example_mails_the_manager_with_the_copy_and_never_shows_the_password() {
    const PASSWORD: &str = "Ada-L0velace#1843";
    let scratch = Scratch::new();
    let policy = scratch.no_approval_policy();
    let ran = scratch.demo(
        &[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--notification-cc",
            "admin@acme.admin",
            "--password-stdin",
            "--config",
            &policy,
            "--yes",
            "--output",
            "json",
        ],
        &format!("{PASSWORD}\n"),
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let json: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{
            "Recipient": "grace.hopper@acme.example",
            "Cc": ["it-security@acme.example", "admin@acme.admin"],
            "Notification": "Sent",
        }])
    );
    let mail = ran.sent("Password notifications in ").to_owned();
    assert!(mail.ends_with("(1):"), "{mail}");
    assert!(
        ran.stderr.contains(
            "to grace.hopper@acme.example, cc it-security@acme.example, admin@acme.admin: \"New password for AD_Entry_NominativeUser"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.events(), ["requested", "confirmed", "executed"]);
    // Traced at every level, the password is nowhere: not on stdout, stderr or the record.
    assert!(!ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD));
    let audit = std::fs::read_to_string(scratch.audit_log()).unwrap();
    assert!(!audit.contains(PASSWORD));
}

#[test]
fn a_password_on_the_command_line_works_with_a_warning_and_is_never_echoed() {
    const PASSWORD: &str = "Tr0ub4dor&3-visible";
    let scratch = Scratch::new();
    let policy = scratch.no_approval_policy();
    let ran = scratch.demo(
        &[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--password",
            PASSWORD,
            "--config",
            &policy,
            "--yes",
        ],
        "",
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(
        ran.stderr
            .contains("warning: --password puts the password in the process list"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.rows(),
        [[
            "grace.hopper@acme.example",
            "{it-security@acme.example}",
            "Sent"
        ]]
    );
    assert!(!ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD));
}

#[test]
fn a_notification_the_policy_sends_to_an_approver_is_refused_before_the_password_is_used() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "identity-manager",
            "send-password-notification",
            "--assigned-resource-type",
            "1000",
            "--resource-type-mapping",
            "10",
            "--password-stdin",
            "--yes",
        ],
        "Whatever-1\n",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(
        ran.stderr.contains("which the command line cannot obtain"),
        "{}",
        ran.stderr
    );
    assert!(ran.sent("Password notifications in ").ends_with(": none"));
    assert_eq!(ran.events(), ["requested", "cancelled"]);
}

// ---------------------------------------------------------------------------------------------
// Safety

#[test]
fn what_if_prints_the_plan_and_changes_nothing() {
    let scratch = Scratch::new();
    let policy = scratch.no_approval_policy();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--group-name",
            "NewUsers",
            "--config",
            &policy,
            "--what-if",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(
        ran.stdout.starts_with(
            "What if: reset mail for every member of group \"NewUsers\": 16 activation mails, 8 \
             password reset mails, 3 skipped\n"
        ),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("Username"), "{}", ran.stdout);
    assert!(ran.stdout.contains("sam.taylor"), "every member is listed");
    assert!(ran.stdout.contains("skipped: suspended"), "{}", ran.stdout);
    assert_eq!(
        ran.sent("JumpCloud activation mails"),
        "JumpCloud activation mails: none"
    );
    assert_eq!(
        ran.sent("JumpCloud reset mails"),
        "JumpCloud reset mails: none"
    );
    assert_eq!(ran.events(), ["requested", "dry_run"]);

    // As JSON, for scripts; the expiry's dry run does not expire anything either.
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "expire-password",
            "--username",
            "jane.doe",
            "--what-if",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let json: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json[0]["Username"], "jane.doe");
    assert_eq!(json[0]["UserID"], JANE_DOE_ID);
    assert_eq!(json[0]["WhatIf"], "expire password");
    assert_eq!(
        ran.sent("JumpCloud password expirations"),
        "JumpCloud password expirations: none"
    );
}

#[test]
fn without_yes_a_non_terminal_is_refused_and_nothing_is_sent() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jcuser.one",
        ],
        "y\n",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("not confirmed: standard input is not a terminal")
            && ran.stderr.contains("add --yes"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.sent("JumpCloud activation mails"),
        "JumpCloud activation mails: none"
    );
    assert_eq!(ran.events(), ["requested", "cancelled"]);
}

#[test]
fn json_output_parses_with_the_cmdlets_property_names() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--user-id",
            JCUSER_ONE_ID,
            "--yes",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    let json: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{ "UserID": JCUSER_ONE_ID, "ResetEmail": "Sent" }])
    );

    let ran = scratch.demo(
        &[
            "jumpcloud",
            "expire-password",
            "--username",
            "jane.doe",
            "--yes",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(
        serde_json::from_str::<Value>(&ran.stdout).unwrap(),
        Value::Bool(true)
    );
}

#[test]
fn a_user_who_is_not_found_is_reported_and_fails_the_exit_code() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "no.such.user",
            "--yes",
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    let json: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{ "Username": "no.such.user", "ResetEmail": "Skipped: not found" }])
    );
    assert!(ran.stderr.contains("nothing to do"), "{}", ran.stderr);
    assert_eq!(ran.events(), ["requested", "failed"]);
}

#[test]
fn a_user_the_policy_refuses_gets_the_reason_and_exit_1() {
    let scratch = Scratch::new();
    let ran = scratch.demo(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jcuser.one",
            "--as",
            "outsider",
            "--yes",
        ],
        "",
        &[],
    );
    assert_eq!(ran.code, Some(1), "{ran:#?}");
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr
            .contains("you are not in a group allowed to run `reset` (allowed: helpdesk)"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.sent("JumpCloud activation mails"),
        "JumpCloud activation mails: none"
    );
    assert_eq!(ran.events(), ["denied"]);
    assert_eq!(ran.audit[0]["actor"]["id"], "outsider");
}

#[test]
fn usage_errors_exit_2_before_anything_is_asked() {
    let scratch = Scratch::new();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &[
                "jumpcloud",
                "expire-password",
                "--id",
                JANE_DOE_ID,
                "--org-id",
                "acme",
                "--yes",
            ],
            "",
            "error: --org-id: ",
        ),
        (
            &[
                "jumpcloud",
                "send-password-reset",
                "--username",
                "jcuser.one",
                "--as",
                "jane doe",
            ],
            "",
            "error: --as: ",
        ),
        (
            &[
                "identity-manager",
                "send-password-notification",
                "--assigned-resource-type",
                "1000",
                "--resource-type-mapping",
                "10",
                "--password-stdin",
                "--yes",
            ],
            "",
            "error: --password-stdin: standard input is empty",
        ),
        (
            &[
                "identity-manager",
                "send-password-notification",
                "--assigned-resource-type",
                "1000",
                "--resource-type-mapping",
                "10",
                "--yes",
            ],
            "",
            "write it on standard input with --password-stdin",
        ),
    ];
    for (args, stdin, expected) in cases {
        let ran = scratch.demo(args, stdin, &[]);
        assert_eq!(ran.code, Some(2), "{args:?}: {ran:#?}");
        assert!(ran.stderr.contains(expected), "{args:?}: {}", ran.stderr);
        assert!(ran.audit.is_empty(), "{args:?}: nothing requested");
    }

    // Without --demo, a configuration is needed.
    let ran = run(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jcuser.one",
        ],
        "",
        &[],
        None,
    );
    assert_eq!(ran.code, Some(2), "{ran:#?}");
    assert!(ran.stderr.contains("give --config FILE"), "{}", ran.stderr);
}

// ---------------------------------------------------------------------------------------------
// A real configuration

#[test]
fn with_config_the_commands_act_on_the_configured_jumpcloud() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = runtime
        .block_on(passdesk_sim::demo::jumpcloud_seed().start())
        .unwrap();
    let scratch = Scratch::new();
    let audit = scratch.audit_log();
    let config = scratch.file(
        "passdesk.toml",
        &format!(
            "[jumpcloud]\nbase_url = \"{}\"\napi_key = {{ env = \"TEST_JC_KEY\" }}\n\n\
             [audit]\npath = \"{}\"\n{JUMPCLOUD_POLICY}",
            sim.base_url(),
            audit.display()
        ),
    );
    let env = [("TEST_JC_KEY", DEFAULT_API_KEY)];
    let ran = run(
        &[
            "jumpcloud",
            "send-password-reset",
            "--username",
            "jane.doe",
            "--config",
            &config,
            "--as",
            "alice",
            "--yes",
        ],
        "",
        &env,
        Some(&audit),
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(ran.rows(), [["jane.doe", "Sent"]]);
    let mails = sim.record().mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].username, "jane.doe");
    assert_eq!(ran.events(), ["requested", "confirmed", "executed"]);
    assert_eq!(ran.audit[0]["actor"]["id"], "alice");
    assert!(!ran.stderr.contains(DEFAULT_API_KEY) && !ran.stdout.contains(DEFAULT_API_KEY));

    // --org-id goes out as x-org-id on the expiry; without it, no header.
    let ran = run(
        &[
            "jumpcloud",
            "expire-password",
            "--username",
            "jane.doe",
            "--org-id",
            DEFAULT_ORG_ID,
            "--config",
            &config,
            "--yes",
        ],
        "",
        &env,
        Some(&audit),
    );
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert_eq!(ran.stdout, "True\n");
    let expiries: Vec<_> = sim
        .record()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/expire"))
        .collect();
    assert_eq!(expiries.len(), 1);
    assert_eq!(expiries[0].org_id.as_deref(), Some(DEFAULT_ORG_ID));
    let resets: Vec<_> = sim
        .record()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/reactivate"))
        .collect();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].org_id, None, "without --org-id, no x-org-id");
    assert_eq!(sim.record().expirations().len(), 1);
    drop(sim);
}
