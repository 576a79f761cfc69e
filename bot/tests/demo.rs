//! `passdesk demo` as a script drives it: the binary with piped stdin and stdout, commands
//! written one at a time, button numbers read from what it prints, the simulators' record
//! read with `/sent`, and the audit log checked with `passdesk audit verify` at the end.
// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long one step may take before the test gives up (a hung demo fails, it does not hang).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Sent after each command: its answer (`you are …`) marks the end of the command's output.
const SENTINEL: &str = "/whoami";

/// A password no output may ever contain.
const PASSWORD: &str = "Pd-demo-S3cret-91x!";

/// A running `passdesk demo`.
struct Demo {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Everything printed so far.
    transcript: String,
    audit: PathBuf,
    _dir: TempDir,
}

/// What the demo printed after it ended.
struct Ended {
    success: bool,
    stdout: String,
    stderr: String,
    audit: PathBuf,
    _dir: TempDir,
}

impl Demo {
    /// Starts `passdesk demo --audit-log <tmp> args…` and reads its banner.
    fn start(args: &[&str]) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_passdesk"))
            .arg("demo")
            .arg("--audit-log")
            .arg(&audit)
            .args(args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the passdesk binary runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut demo = Demo {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            transcript: String::new(),
            audit,
            _dir: dir,
        };
        demo.read_until(|line| line.starts_with("you are "));
        demo
    }

    /// Reads lines until one satisfies `end`; returns them, `end`'s line excluded.
    fn read_until(&mut self, end: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut out = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push_str(&line);
                    self.transcript.push('\n');
                    if end(&line) {
                        return out;
                    }
                    out.push_str(&line);
                    out.push('\n');
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "the demo did not answer in time; so far:\n{}",
                        self.transcript
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the demo stopped early; so far:\n{}", self.transcript)
                }
            }
        }
    }

    fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Types `line`; returns everything the demo printed for it.
    fn send(&mut self, line: &str) -> String {
        self.write(&format!("{line}\n{SENTINEL}\n"));
        self.read_until(|line| line.starts_with("you are ") && line.contains("(console)"))
    }

    /// Presses button `number`, which asks for the password, and types `password` on the next
    /// line, as a script does.
    fn press_with_password(&mut self, number: u64, password: &str) -> String {
        self.write(&format!("{number}\n{password}\n{SENTINEL}\n"));
        self.read_until(|line| line.starts_with("you are ") && line.contains("(console)"))
    }

    /// Closes stdin and waits for the demo to stop.
    fn end(mut self) -> Ended {
        drop(self.stdin.take());
        let rest = self.read_until(|line| line.starts_with("passdesk demo: stopped"));
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let _ = rest;
        Ended {
            success: status.success(),
            stdout: self.transcript,
            stderr,
            audit: self.audit,
            _dir: self._dir,
        }
    }
}

impl Ended {
    /// The demo exited 0 and its audit log verifies.
    fn assert_clean(&self) {
        assert!(self.success, "exit status; stderr:\n{}", self.stderr);
        let verify = Command::new(env!("CARGO_BIN_EXE_passdesk"))
            .args(["audit", "verify"])
            .arg(&self.audit)
            .env_clear()
            .output()
            .unwrap();
        let report = String::from_utf8(verify.stdout).unwrap();
        assert!(verify.status.success(), "{report}");
        assert!(
            report.starts_with(&format!("{}: ok, ", self.audit.display())),
            "{report}"
        );
    }

    /// The audit log's event names, in order.
    fn audit_events(&self) -> Vec<String> {
        audit_events(&self.audit)
    }
}

fn audit_events(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["event"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The number of the button `label` in `output` (`[7] Confirm` → 7); the last one shown.
fn button(output: &str, label: &str) -> u64 {
    let needle = format!("] {label}");
    let at = output
        .rmatch_indices(&needle)
        .map(|(at, _)| at)
        .next()
        .unwrap_or_else(|| panic!("no [n] {label} button in:\n{output}"));
    let open = output[..at].rfind('[').unwrap();
    output[open + 1..at]
        .parse()
        .unwrap_or_else(|_| panic!("not a button number before {label:?} in:\n{output}"))
}

/// The position of `needle` in `haystack`, or a failure showing the haystack.
fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} missing from:\n{haystack}"))
}

#[test]
fn a_single_reset_is_confirmed_and_sends_an_activation_mail() {
    let mut demo = Demo::start(&[]);
    let banner = demo.transcript.clone();
    assert!(
        banner.starts_with("passdesk demo: simulators up (JumpCloud http://127.0.0.1:"),
        "{banner}"
    );
    assert!(
        banner.contains(", Identity Manager http://127.0.0.1:"),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("audit log: {}", demo.audit.display())),
        "{banner}"
    );

    let plan = demo.send("/reset user:jcuser.one");
    assert!(
        plan.contains("jcuser.one  pending  activation mail"),
        "{plan}"
    );
    assert!(
        plan.contains("audit #1 requested · reset"),
        "the audit line is shown as it is written: {plan}"
    );
    let confirm = button(&plan, "Confirm");
    assert!(
        demo.send("/sent")
            .contains("JumpCloud activation mails: none"),
        "nothing is sent before Confirm"
    );

    let report = demo.send(&confirm.to_string());
    assert!(report.contains("✓ Done: 1 sent"), "{report}");
    assert!(report.contains("Sent (activation)"), "{report}");
    assert!(report.contains("executed · reset"), "{report}");
    let sent = demo.send("/sent");
    assert!(
        sent.contains("JumpCloud activation mails (1): jcuser.one"),
        "{sent}"
    );
    assert!(sent.contains("JumpCloud reset mails: none"), "{sent}");

    let ended = demo.end();
    assert!(
        !ended.stdout.contains("helpdesk> "),
        "no prompt when stdin is not a terminal:\n{}",
        ended.stdout
    );
    ended.assert_clean();
    assert_eq!(ended.audit_events(), ["requested", "confirmed", "executed"]);
}

#[test]
fn a_dry_run_of_a_group_reset_sends_nothing() {
    let mut demo = Demo::start(&[]);
    let before = demo.send("/sent");
    let plan = demo.send("/reset group:NewUsers dry-run:true");
    assert!(plan.contains("Dry run — nothing was sent"), "{plan}");
    assert!(plan.contains("(27 members)"), "{plan}");
    assert!(
        plan.contains("Would do: 16 activation mails, 8 password reset mails, 3 skipped"),
        "{plan}"
    );
    assert!(
        !plan.contains("] Confirm"),
        "a dry run has nothing to confirm: {plan}"
    );
    assert_eq!(demo.send("/sent").trim(), before.trim(), "no side effect");
    let ended = demo.end();
    ended.assert_clean();
    assert_eq!(ended.audit_events(), ["requested", "dry_run"]);
}

#[test]
fn a_group_reset_runs_once_a_second_identity_approves() {
    let mut demo = Demo::start(&[]);
    let plan = demo.send("/reset group:NewUsers");
    assert!(
        plan.contains("an approver must approve it after you confirm"),
        "{plan}"
    );
    let confirmed = demo.send(&button(&plan, "Confirm").to_string());
    assert!(confirmed.contains("Waiting for approval"), "{confirmed}");
    let request = &confirmed[position(&confirmed, "── in #approvals ──")..];
    assert!(request.contains("Approval needed"), "{request}");
    let approve = button(request, "Approve");

    // The requester cannot approve their own request.
    let own = demo.send(&approve.to_string());
    assert!(
        own.contains("you cannot approve or deny your own request"),
        "{own}"
    );
    assert!(
        demo.send("/sent")
            .contains("JumpCloud activation mails: none")
    );

    assert!(demo.send("/as approver").contains("you are now approver"));
    let report = demo.send(&format!("/press {approve}"));
    let progress = position(&report, "progress [");
    let done = position(&report, "✓ Done: 24 sent, 3 skipped");
    assert!(progress < done, "progress, then the report:\n{report}");
    assert!(report.contains("27/27 done"), "{report}");
    assert!(
        report.contains("Approved by: approver (approver)"),
        "{report}"
    );
    assert!(
        report.contains("── to helpdesk ──"),
        "the requester is told: {report}"
    );
    let sent = demo.send("/sent");
    assert!(sent.contains("JumpCloud activation mails (16): "), "{sent}");
    assert!(sent.contains("JumpCloud reset mails (8): "), "{sent}");
    assert!(
        !sent.contains("sam.taylor"),
        "suspended members are skipped: {sent}"
    );

    let ended = demo.end();
    ended.assert_clean();
    assert_eq!(
        ended.audit_events(),
        [
            "requested",
            "confirmed",
            "approval_requested",
            "denied",
            "approved",
            "executed"
        ]
    );
}

#[test]
fn a_password_is_expired_by_username() {
    let mut demo = Demo::start(&[]);
    let plan = demo.send("/expire user:priya.patel");
    assert!(
        plan.contains("Expire the password of user priya.patel"),
        "{plan}"
    );
    let report = demo.send(&button(&plan, "Confirm").to_string());
    assert!(report.contains("✓ Done: 1 expired"), "{report}");
    assert!(report.contains("priya.patel  5f0c"), "{report}");
    let sent = demo.send("/sent");
    assert!(
        sent.contains("JumpCloud password expirations (1): priya.patel"),
        "{sent}"
    );
    demo.end().assert_clean();
}

#[test]
fn a_notification_takes_the_password_from_the_next_line_and_never_shows_it() {
    let mut demo = Demo::start(&[]);
    // A password typed where a command is expected is not repeated back.
    let stray = demo.send(PASSWORD);
    assert!(stray.contains("unknown command"), "{stray}");

    let plan = demo.send("/notify assigned-resource-type:1000 resource-type-mapping:10");
    assert!(
        plan.contains("Notified: grace.hopper@acme.example"),
        "{plan}"
    );
    let confirmed = demo.send(&button(&plan, "Confirm").to_string());
    let approve = button(&confirmed, "Approve");
    demo.send("/as approver");
    let approved = demo.send(&approve.to_string());
    let for_requester = &approved[position(&approved, "── to helpdesk ──")..];
    let enter = button(for_requester, "Enter password and send");
    let sent = demo.send("/sent");
    let notifications = sent
        .lines()
        .find(|line| line.starts_with("Password notifications in "))
        .unwrap_or_else(|| panic!("{sent}"));
    assert!(
        notifications.ends_with(": none"),
        "nothing is mailed before the password: {sent}"
    );

    // The approver cannot enter the requester's password.
    let refused = demo.send(&enter.to_string());
    assert!(
        refused.contains("only helpdesk can enter the password of this request"),
        "{refused}"
    );
    demo.send("/as helpdesk");
    let report = demo.press_with_password(enter, PASSWORD);
    assert!(
        report.contains("reading the next input line (never shown)"),
        "{report}"
    );
    assert!(report.contains("✓ Done: 1 sent"), "{report}");
    let sent = demo.send("/sent");
    assert!(sent.contains("Password notifications in "), "{sent}");
    assert!(
        sent.contains(
            "to grace.hopper@acme.example, cc it-security@acme.example: \"New password for"
        ),
        "{sent}"
    );

    let ended = demo.end();
    assert!(
        !ended.stdout.contains(PASSWORD) && !ended.stderr.contains(PASSWORD),
        "the password leaked:\n{}\n{}",
        ended.stdout,
        ended.stderr
    );
    let log = std::fs::read_to_string(&ended.audit).unwrap();
    assert!(!log.contains(PASSWORD), "the password is in the audit log");
    ended.assert_clean();
}

#[test]
fn an_outsider_is_refused_and_cannot_press_someone_elses_confirm() {
    let mut demo = Demo::start(&["--as", "outsider"]);
    let refused = demo.send("/reset user:jcuser.one");
    assert!(refused.contains("✗ Not allowed"), "{refused}");
    assert!(
        refused.contains("you are not in a group allowed to run `reset` (allowed: helpdesk)"),
        "{refused}"
    );
    assert!(!refused.contains("] Confirm"), "{refused}");

    demo.send("/as helpdesk");
    let plan = demo.send("/reset user:jcuser.one");
    let confirm = button(&plan, "Confirm");
    demo.send("/as outsider");
    let pressed = demo.send(&confirm.to_string());
    assert!(
        pressed.contains("only helpdesk can confirm this request"),
        "{pressed}"
    );
    assert!(
        demo.send("/sent")
            .contains("JumpCloud activation mails: none")
    );

    let ended = demo.end();
    ended.assert_clean();
    let events = ended.audit_events();
    assert_eq!(
        events.iter().filter(|e| *e == "denied").count(),
        2,
        "{events:?}"
    );
    assert!(!events.contains(&"executed".to_owned()), "{events:?}");
}

#[test]
fn a_button_pressed_twice_acts_once() {
    let mut demo = Demo::start(&[]);
    let plan = demo.send("/reset user:jcuser.one");
    let confirm = button(&plan, "Confirm").to_string();
    assert!(demo.send(&confirm).contains("✓ Done: 1 sent"));
    let again = demo.send(&confirm);
    assert!(again.contains("! Already handled"), "{again}");
    assert!(
        again.contains("already handled by helpdesk (helpdesk) at "),
        "{again}"
    );
    let sent = demo.send("/sent");
    assert!(
        sent.contains("JumpCloud activation mails (1): jcuser.one\n"),
        "one mail, not two: {sent}"
    );
    let ended = demo.end();
    ended.assert_clean();
    assert_eq!(ended.audit_events(), ["requested", "confirmed", "executed"]);
}

#[test]
fn the_console_lists_its_commands_and_waiting_buttons_and_expires_what_is_left() {
    let mut demo = Demo::start(&[]);
    let help = demo.send("/help");
    for listed in [
        "reset —",
        "expire —",
        "notify —",
        "/as NAME",
        "/whoami",
        "/sent",
        "/buttons",
        "/quit",
    ] {
        assert!(help.contains(listed), "{listed:?} missing from:\n{help}");
    }
    assert!(demo.send("/buttons").contains("no buttons are waiting"));
    let plan = demo.send("/reset user:jcuser.one");
    let confirm = button(&plan, "Confirm");
    let waiting = demo.send("/buttons");
    assert!(
        waiting.contains(&format!("[{confirm}] Confirm (to helpdesk, request ")),
        "{waiting}"
    );
    assert!(
        demo.send("/press 99").contains("there is no button [99]"),
        "an unknown number is refused"
    );
    // Leaving with a request still waiting: it expires, on the record, and the requester is told.
    demo.write("/quit\n");
    let ended = demo.end();
    assert!(
        ended.stdout.contains("! Request expired"),
        "{}",
        ended.stdout
    );
    ended.assert_clean();
    assert_eq!(ended.audit_events(), ["requested", "expired"]);
}

#[test]
fn a_real_configuration_is_rehearsed_against_the_simulators() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../passdesk.example.toml");
    let example = example.to_str().unwrap();
    // The environment is empty: none of the example's secrets is set, and none is needed.
    let mut demo = Demo::start(&["--config", example, "--as", "alice"]);
    assert!(
        demo.transcript
            .contains("(its connection keys replaced by the simulators')"),
        "{}",
        demo.transcript
    );
    // The example's policy: reset needs approval above 10 targets, by the approver group.
    let plan = demo.send("/reset group:NewUsers");
    assert!(
        plan.contains("an approver must approve it after you confirm"),
        "{plan}"
    );
    assert!(plan.contains("jcuser.one       pending"), "{plan}");
    demo.send("/as bob");
    let refused = demo.send("/reset user:jcuser.one");
    assert!(
        refused.contains("you are not in a group allowed to run `reset`"),
        "bob is an approver only: {refused}"
    );
    demo.end().assert_clean();
}

#[test]
fn an_invalid_configuration_is_refused_with_its_key_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[policy.reset]\ngroups = [\"nobody\"]\napproval = \"none\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_passdesk"))
        .arg("demo")
        .arg("--config")
        .arg(&config)
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("policy.reset.groups"), "{stderr}");
    assert!(stderr.contains("fix: "), "{stderr}");
}
