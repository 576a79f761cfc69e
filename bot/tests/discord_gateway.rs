//! The Discord adapter's gateway-only behaviour, end to end through real sockets on 127.0.0.1:
//! the fake Discord (`passdesk_sim::discord`, REST and gateway), the JumpCloud and Identity
//! Manager simulators, a configuration read from TOML with its secrets from a map, and the real
//! serenity client started by `Discord::run_gateway` (the driver checks its READY asks no
//! intents). The scenarios both modes share are in `chat_scenarios.rs`; this file keeps what
//! only the gateway has: a request left waiting when the gateway stops, `register-commands`,
//! and `passdesk run` in gateway mode.

// Test helpers outside #[test] functions: a panic there is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use passdesk_commands::catalogue;
use passdesk_sim::discord::{CallbackOutcome, CommandOption, Route};
use support::{
    Driver, GUILD, HELPDESK, HELPDESK_ROLE, Mode, TOKEN, WAIT, alice, config_text, embed_title,
    secrets, start_fake,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_left_waiting_expires_at_shutdown_and_its_buttons_go_away() {
    let h = Driver::start(Mode::Gateway).await;
    let (command, _, prompt) = h
        .slash(
            &alice(),
            &[HELPDESK_ROLE],
            "reset",
            vec![CommandOption::sub_command(
                "user",
                vec![CommandOption::string("user", "jcuser.one")],
            )],
        )
        .await;
    assert_eq!(prompt.buttons().len(), 2);
    let id = command.id();
    let (fake, audit) = h.stop().await;
    assert!(audit.contains("\"event\":\"expired\""), "{audit}");
    let expired = fake.original_response(id).unwrap();
    assert!(expired.buttons().is_empty(), "{}", expired.visible_text());
    assert_eq!(embed_title(&expired), "Request expired");
}

// ---------------------------------------------------------------------------------------------
// The binary

/// Runs `passdesk args…` with exactly the configuration's secrets as its environment.
async fn passdesk(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passdesk"));
        command.args(&args).env_clear();
        for (name, value) in secrets() {
            command.env(name, value);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_commands_registers_the_catalogue_in_a_server_or_globally() {
    let fake = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pickup")).unwrap();
    let file = dir.path().join("passdesk.toml");
    std::fs::write(
        &file,
        config_text(
            Mode::Gateway,
            &fake,
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
            dir.path(),
        ),
    )
    .unwrap();
    let config = file.display().to_string();

    let ran = passdesk(vec![
        "register-commands".into(),
        "--config".into(),
        config.clone(),
        "--guild".into(),
        GUILD.to_string(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(ran.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));

    let registered = fake.commands(Some(GUILD));
    let names: Vec<&str> = registered
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let catalogue_names: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
    assert_eq!(names, catalogue_names);
    for spec in catalogue() {
        assert!(
            stdout.contains(&format!("/{} — {}", spec.name, spec.description)),
            "{} missing from:\n{stdout}",
            spec.name
        );
        for sub in spec.subcommands() {
            assert!(
                stdout.contains(&format!("/{} {}", spec.name, sub.name)),
                "{} {} missing from:\n{stdout}",
                spec.name,
                sub.name
            );
        }
    }
    assert!(stdout.contains(&format!("in server {GUILD}")), "{stdout}");
    assert!(fake.commands(None).is_empty(), "one scope only");
    let puts = fake.requests_to(Route::PutGuildCommands);
    assert_eq!(puts.len(), 1, "one bulk overwrite");

    let ran = passdesk(vec!["register-commands".into(), "--config".into(), config]).await;
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(fake.commands(None).len(), catalogue().len());
    assert!(String::from_utf8_lossy(&ran.stdout).contains("global commands"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passdesk_run_serves_the_gateway_until_sigterm_and_stops_cleanly() {
    let fake = start_fake().await;
    let jumpcloud = passdesk_sim::demo::jumpcloud_seed().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pickup")).unwrap();
    let file = dir.path().join("passdesk.toml");
    std::fs::write(
        &file,
        config_text(
            Mode::Gateway,
            &fake,
            &jumpcloud.base_url(),
            "http://127.0.0.1:9",
            dir.path(),
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_passdesk"));
    command
        .args(["run", "--config"])
        .arg(&file)
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (name, value) in secrets() {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());

    fake.wait_for_ready(WAIT).await.unwrap();
    let help = fake.slash_command(&alice(), &[HELPDESK_ROLE], GUILD, HELPDESK, "help", vec![]);
    fake.dispatch(&help).unwrap();
    let callback = fake.wait_for_callback(help.id(), WAIT).await.unwrap();
    assert_eq!(callback.outcome, CallbackOutcome::Accepted);
    let shown = fake.original_response(help.id()).unwrap();
    assert!(
        shown.visible_text().contains("reset"),
        "{}",
        shown.visible_text()
    );

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::time::timeout(WAIT, waited)
        .await
        .expect("passdesk stops after SIGTERM")
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
}
