//! The parts a child process cannot show: a person answering at a terminal (y/N, the password
//! with echo off), driven in-process on the demo's simulators with a scripted console.

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::*;
use crate::cli::{CommonArgs, OutputFormat};
use crate::parity::EngineCall;

/// A terminal whose answers are scripted.
#[derive(Default)]
struct Scripted {
    answers: VecDeque<&'static str>,
    passwords: VecDeque<&'static str>,
    asked: Vec<String>,
    passwords_asked: usize,
}

impl Console for Scripted {
    fn interactive(&self) -> bool {
        true
    }

    fn confirm(&mut self, question: &str) -> io::Result<bool> {
        self.asked.push(question.to_owned());
        Ok(console::is_yes(self.answers.pop_front().unwrap_or("")))
    }

    fn ask_password(&mut self, _prompt: &str) -> io::Result<SecretString> {
        self.passwords_asked += 1;
        self.passwords
            .pop_front()
            .map(SecretString::from)
            .ok_or_else(|| io::Error::other("no more scripted passwords"))
    }

    fn read_password_line(&mut self) -> io::Result<Option<SecretString>> {
        Err(io::Error::other(
            "a terminal is asked, never read as a line",
        ))
    }
}

/// A policy with no approval, so every command can run from the command line.
const POLICY: &str = r#"
[groups.helpdesk]
cli_users = ["cli"]

[policy.reset]
groups = ["helpdesk"]
approval = "none"

[policy.notify]
groups = ["helpdesk"]
approval = "none"

[accounts.cli]
cli = "cli.operator"

[limits]
cooldown_seconds = 0
"#;

struct Run {
    outcome: Outcome,
    out: String,
    err: String,
    audit: Vec<String>,
}

fn common(dir: &Path) -> CommonArgs {
    let config = dir.join("policy.toml");
    std::fs::write(&config, POLICY).unwrap();
    CommonArgs {
        what_if: false,
        yes: false,
        output: OutputFormat::Table,
        config: Some(config),
        demo: true,
        as_user: None,
        audit_log: Some(dir.join("audit.jsonl")),
        print_sent: true,
    }
}

fn call(command: &str, options: &[(&str, &str)]) -> EngineCall {
    let mut call = EngineCall::new(match command {
        "reset" => passdesk_commands::catalogue::RESET,
        _ => passdesk_commands::catalogue::NOTIFY,
    });
    for (name, value) in options {
        call.options.push(((*name).to_owned(), (*value).to_owned()));
    }
    call
}

fn execute(
    call: &EngineCall,
    common: &CommonArgs,
    shape: Shape,
    password: PasswordSource,
    console: &mut Scripted,
) -> Run {
    let request = call.check().unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run(
        ParityRun {
            call,
            request,
            common,
            shape,
            password,
        },
        console,
        &mut out,
        &mut err,
    )
    .unwrap();
    let audit_path: PathBuf = common.audit_log.clone().unwrap();
    let audit = std::fs::read_to_string(audit_path)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["event"].as_str().unwrap().to_owned()
        })
        .collect();
    Run {
        outcome,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
        audit,
    }
}

#[test]
fn a_terminal_is_shown_the_plan_and_asked_and_no_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let common = common(dir.path());
    let reset = call("reset", &[("user", "jcuser.one")]);
    let mut console = Scripted {
        answers: ["n"].into(),
        ..Scripted::default()
    };
    let ran = execute(
        &reset,
        &common,
        Shape::ResetByUsername,
        PasswordSource::NotNeeded,
        &mut console,
    );
    assert_eq!(ran.outcome, Outcome::Problem, "{}", ran.err);
    assert_eq!(console.asked, ["Go ahead?"]);
    assert!(
        ran.err.contains("About to: reset mail for user jcuser.one"),
        "{}",
        ran.err
    );
    assert!(
        ran.err.contains("cancelled: nothing was done"),
        "{}",
        ran.err
    );
    assert!(
        ran.err.contains("JumpCloud activation mails: none"),
        "{}",
        ran.err
    );
    assert!(ran.out.is_empty(), "{}", ran.out);
    assert_eq!(ran.audit, ["requested", "cancelled"]);

    // The same question answered yes: the mail goes, once.
    let mut console = Scripted {
        answers: ["y"].into(),
        ..Scripted::default()
    };
    let ran = execute(
        &reset,
        &common,
        Shape::ResetByUsername,
        PasswordSource::NotNeeded,
        &mut console,
    );
    assert_eq!(ran.outcome, Outcome::Success, "{}", ran.err);
    assert_eq!(
        ran.out,
        "Username   ResetEmail\n--------   ----------\njcuser.one Sent\n"
    );
    assert!(
        ran.err
            .contains("JumpCloud activation mails (1): jcuser.one"),
        "{}",
        ran.err
    );
    // The same audit log, resumed: the second request follows the first.
    assert_eq!(
        ran.audit,
        [
            "requested",
            "cancelled",
            "requested",
            "confirmed",
            "executed"
        ]
    );
}

#[test]
fn a_terminal_is_asked_the_password_with_echo_off_until_it_can_be_mailed() {
    const PASSWORD: &str = "Gr4ce-H0pper!";
    let dir = tempfile::tempdir().unwrap();
    let common = common(dir.path());
    let notify = call(
        "notify",
        &[
            ("assigned-resource-type", "1000"),
            ("resource-type-mapping", "10"),
        ],
    );
    let mut console = Scripted {
        answers: ["yes"].into(),
        passwords: ["", PASSWORD].into(),
        ..Scripted::default()
    };
    let ran = execute(
        &notify,
        &common,
        Shape::Notify,
        PasswordSource::Prompt,
        &mut console,
    );
    assert_eq!(ran.outcome, Outcome::Success, "{}", ran.err);
    assert_eq!(
        console.passwords_asked, 2,
        "an empty password is asked again"
    );
    assert!(
        ran.err.contains("the password cannot be mailed"),
        "{}",
        ran.err
    );
    assert!(
        ran.out.contains("grace.hopper@acme.example")
            && ran.out.lines().nth(2).unwrap().ends_with("Sent"),
        "{}",
        ran.out
    );
    assert!(
        ran.err.contains("Password notifications in ") && ran.err.contains("to grace.hopper"),
        "{}",
        ran.err
    );
    assert!(!ran.out.contains(PASSWORD) && !ran.err.contains(PASSWORD));
    assert_eq!(ran.audit, ["requested", "confirmed", "executed"]);
    let audit = std::fs::read_to_string(common.audit_log.as_ref().unwrap()).unwrap();
    assert!(!audit.contains(PASSWORD));
}

#[test]
fn no_usable_password_on_a_terminal_leaves_nothing_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let common = common(dir.path());
    let notify = call(
        "notify",
        &[
            ("assigned-resource-type", "1000"),
            ("resource-type-mapping", "10"),
        ],
    );
    let mut console = Scripted {
        answers: ["y"].into(),
        passwords: ["", "", ""].into(),
        ..Scripted::default()
    };
    let ran = execute(
        &notify,
        &common,
        Shape::Notify,
        PasswordSource::Stdin,
        &mut console,
    );
    assert_eq!(ran.outcome, Outcome::Problem);
    assert_eq!(console.passwords_asked, PASSWORD_ATTEMPTS);
    assert!(ran.err.contains("no usable password"), "{}", ran.err);
    assert!(ran.err.contains("Password notifications in ") && ran.err.contains(": none"));
    assert_eq!(ran.audit, ["requested", "cancelled"]);
}
