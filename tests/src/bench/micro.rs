//! Scenario (5), micro: what one request costs on the hot path, through the real code.
//!
//! - Discord: Ed25519 verification of a signed interaction through
//!   [`passdesk_bot::discord::signature::SignatureVerifier::verify`], with a key pair generated
//!   here and the delivery signed with `ed25519-dalek` as Discord signs it;
//! - Slack: HMAC-SHA256 verification of a signed slash command through
//!   [`passdesk_bot::slack::signature::SignatureVerifier::verify`];
//! - command parsing: a Slack text line (`reset user:jane.doe`, …) through
//!   [`passdesk_commands::split_text`] then [`passdesk_commands::parse::parse_command`], for the
//!   reset, expire and notify forms;
//! - plan rendering: [`passdesk_commands::render_plan`] of a confirmation prompt for a plan of
//!   1 target and of 500 targets (a [`Plan`] is plain data with public fields, so it is built
//!   here without the network).
//!
//! [`benches`] gives the same operations to `tests/benches/micro.rs` (criterion, `cargo bench`)
//! and to [`run`], which times each itself: the median of [`Size::repetitions`] runs of a fixed
//! iteration count, in nanoseconds per operation.

use std::fmt;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac as _};
use passdesk_bot::discord::signature as discord;
use passdesk_bot::signed::Clock;
use passdesk_bot::slack::signature as slack;
use passdesk_commands::parse::parse_command;
use passdesk_commands::{
    CommandName, Plan, PlannedAction, PlannedTarget, Request, SkipReason, Table, render_plan,
    split_text,
};
use passdesk_config::DiscordPublicKey;
use passdesk_core::jumpcloud::{SystemUser, UserId, UserState};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use sha2::Sha256;

use super::{BenchError, Ctx, Row, Section, Size, Verdict, median, thousands};

const SCENARIO: &str = "micro";

/// The request rate the budgets are set for (the ack-under-load target).
const RATE: f64 = 2_000.0;

/// A clock stopped at the moment the fixtures were signed: the verifiers check the timestamp
/// window against it, so a long criterion run never drifts out of the five-minute window and
/// starts timing the rejection path instead.
struct StoppedClock(i64);

impl Clock for StoppedClock {
    fn unix_now(&self) -> i64 {
        self.0
    }
}

/// A Discord delivery and the bot's verifier for its application key.
struct DiscordDelivery {
    verifier: discord::SignatureVerifier,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A Slack slash command and the bot's verifier for the app's signing secret.
struct SlackRequest {
    verifier: slack::SignatureVerifier,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// What one operation of a [`MicroBench`] does.
enum Op {
    Discord(Box<DiscordDelivery>),
    Slack(Box<SlackRequest>),
    /// A text line, as Slack's `text` or the console sends it, and the command it must parse
    /// to.
    Parse(String, CommandName),
    /// A plan to render as the confirmation prompt.
    Render(Box<Plan>),
}

/// One micro benchmark: a name, its target and a fixture; [`run_once`](Self::run_once) is the
/// operation timed.
pub struct MicroBench {
    /// Criterion's id, e.g. `discord_ed25519_verify`.
    pub id: &'static str,
    /// The table's name for it, e.g. `Discord Ed25519 verify`.
    pub label: &'static str,
    /// What it runs on, e.g. `1,042-byte slash command`.
    pub params: String,
    /// The most one operation may take.
    pub target: Duration,
    /// Operations per timed repetition in full size (about a third of a second each).
    pub iterations: u64,
    op: Op,
}

impl fmt::Debug for MicroBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicroBench")
            .field("id", &self.id)
            .field("params", &self.params)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl MicroBench {
    /// Runs the operation once; `true` when it did what it should (the signature verified,
    /// the line parsed, the reply has its table). The fixtures are passed through
    /// [`black_box`] so the work cannot be hoisted out of a loop.
    pub fn run_once(&self) -> bool {
        match &self.op {
            Op::Discord(d) => d
                .verifier
                .verify(black_box(&d.headers), black_box(&d.body))
                .is_ok(),
            Op::Slack(s) => s
                .verifier
                .verify(black_box(&s.headers), black_box(&s.body))
                .is_ok(),
            Op::Parse(line, expected) => split_text(black_box(line))
                .and_then(|(command, options)| parse_command(&command, &options))
                .is_ok_and(|request| request.command_name() == *expected),
            Op::Render(plan) => render_plan(black_box(plan), false).table.is_some(),
        }
    }

    /// Checks the fixture before it is timed: the operation succeeds, and where it is a check,
    /// a spoilt input is refused (so the figure is the cost of a real verification, not of a
    /// short cut). Rendered plans have the rows and counts a reviewer reads.
    ///
    /// # Errors
    ///
    /// What the operation got wrong.
    pub fn check(&self) -> Result<(), BenchError> {
        let fail = |what: &str| Err(BenchError::new(SCENARIO, format!("{}: {what}", self.label)));
        match &self.op {
            Op::Discord(d) => {
                if d.verifier.verify(&d.headers, &d.body).is_err() {
                    return fail("a genuine delivery was refused");
                }
                let forged = flip_last_byte(&d.body);
                if d.verifier.verify(&d.headers, &forged).is_ok() {
                    return fail("a tampered delivery was accepted");
                }
            }
            Op::Slack(s) => {
                if s.verifier.verify(&s.headers, &s.body).is_err() {
                    return fail("a genuine request was refused");
                }
                let forged = flip_last_byte(&s.body);
                if s.verifier.verify(&s.headers, &forged).is_ok() {
                    return fail("a tampered request was accepted");
                }
            }
            Op::Parse(line, expected) => {
                let parsed = split_text(line)
                    .and_then(|(command, options)| parse_command(&command, &options));
                match parsed {
                    Ok(request) if request.command_name() == *expected => {}
                    Ok(request) => return fail(&format!("parsed as {request}")),
                    Err(e) => return fail(&format!("refused: {}", e.message())),
                }
            }
            Op::Render(plan) => {
                let reply = render_plan(plan, false);
                let Some(table) = &reply.table else {
                    return fail("the prompt has no table");
                };
                let shown = plan.targets.len().min(Table::MAX_ROWS);
                if table.rows.len() != shown || table.omitted != plan.targets.len() - shown {
                    return fail(&format!(
                        "the table shows {} rows and omits {} of {} targets",
                        table.rows.len(),
                        table.omitted,
                        plan.targets.len()
                    ));
                }
                if !reply.body.contains(&plan.counts()) {
                    return fail("the prompt does not say what it will do");
                }
            }
        }
        Ok(())
    }
}

fn flip_last_byte(body: &[u8]) -> Vec<u8> {
    let mut forged = body.to_vec();
    if let Some(last) = forged.last_mut() {
        *last ^= 0x01;
    }
    forged
}

/// Every micro benchmark, with fresh fixtures (a new Ed25519 key pair and Slack signing secret
/// each call).
///
/// # Errors
///
/// A fixture could not be built (a bug in this module or a changed API).
pub fn benches() -> Result<Vec<MicroBench>, BenchError> {
    let now = chrono::Utc::now().timestamp();
    let discord = discord_delivery(now)?;
    let slack = slack_request(now)?;
    let mut out = vec![
        MicroBench {
            id: "discord_ed25519_verify",
            label: "Discord Ed25519 verify",
            params: format!(
                "{}-byte slash command, headers + strict Ed25519",
                thousands(discord.body.len() as u64)
            ),
            target: Duration::from_micros(100),
            iterations: 8_000,
            op: Op::Discord(Box::new(discord)),
        },
        MicroBench {
            id: "slack_hmac_verify",
            label: "Slack HMAC verify",
            params: format!(
                "{}-byte slash command, headers + HMAC-SHA256",
                thousands(slack.body.len() as u64)
            ),
            target: Duration::from_micros(20),
            iterations: 200_000,
            op: Op::Slack(Box::new(slack)),
        },
    ];
    let forms: [(&str, &str, &str, CommandName); 5] = [
        (
            "parse_reset_user",
            "parse reset user",
            "reset user:jane.doe",
            CommandName::Reset,
        ),
        (
            "parse_reset_group",
            "parse reset group",
            "reset group:\"IT Support\" dry-run",
            CommandName::Reset,
        ),
        (
            "parse_reset_inactive",
            "parse reset inactive",
            "reset inactive created-within-days:7",
            CommandName::Reset,
        ),
        (
            "parse_expire",
            "parse expire",
            "expire user:5f0c1a2b3c4d5e6f7a8b9c0d",
            CommandName::Expire,
        ),
        (
            "parse_notify",
            "parse notify",
            "notify assigned-resource-type:1000 resource-type-mapping:10 cc:lead@acme.com",
            CommandName::Notify,
        ),
    ];
    for (id, label, line, command) in forms {
        out.push(MicroBench {
            id,
            label,
            params: format!("`{line}`: split_text + parse_command"),
            target: Duration::from_micros(20),
            iterations: 200_000,
            op: Op::Parse(line.to_owned(), command),
        });
    }
    out.push(MicroBench {
        id: "render_plan_1",
        label: "render plan, 1 target",
        params: "confirmation prompt, reset user".to_owned(),
        target: Duration::from_micros(100),
        iterations: 100_000,
        op: Op::Render(Box::new(plan_of(1)?)),
    });
    out.push(MicroBench {
        id: "render_plan_500",
        label: "render plan, 500 targets",
        params: "confirmation prompt, reset group (25 rows shown + “… and 475 more”)".to_owned(),
        target: Duration::from_millis(2),
        iterations: 4_000,
        op: Op::Render(Box::new(plan_of(500)?)),
    });
    for bench in &out {
        bench.check()?;
    }
    Ok(out)
}

/// A Discord slash command (`/reset user:jane.doe`) as Discord delivers it, signed with a key
/// pair generated here, and the bot's verifier for its public key.
fn discord_delivery(now: i64) -> Result<DiscordDelivery, BenchError> {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let public: DiscordPublicKey = hex::encode(key.verifying_key().to_bytes())
        .parse()
        .map_err(|e| BenchError::new(SCENARIO, format!("discord public key: {e}")))?;
    let verifier = discord::SignatureVerifier::new(public)
        .map_err(|e| BenchError::new(SCENARIO, e))?
        .with_clock(Arc::new(StoppedClock(now)));
    let body = serde_json::json!({
        "type": 2,
        "id": "1254329871250392011",
        "application_id": "1254329871250392010",
        "token": "aW50ZXJhY3Rpb246MTI1NDMyOTg3MTI1MDM5MjAxMTpzb21lLXJhbmRvbS10b2tlbi10ZXh0LWZvci1iZW5jaA",
        "version": 1,
        "guild_id": "1254329871250392001",
        "channel_id": "1254329871250392002",
        "app_permissions": "2251799813685247",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": "1254329871250392001" },
        "context": 0,
        "member": {
            "user": {
                "id": "1254329871250392100",
                "username": "ana.helpdesk",
                "global_name": "Ana",
                "discriminator": "0",
                "avatar": null
            },
            "roles": ["1254329871250392200", "1254329871250392201"],
            "permissions": "2251799813685247",
            "joined_at": "2024-06-21T09:12:44.000000+00:00",
            "nick": null,
            "deaf": false,
            "mute": false,
            "flags": 0
        },
        "data": {
            "id": "1254329871250392300",
            "name": "reset",
            "type": 1,
            "options": [{
                "name": "user",
                "type": 1,
                "options": [{ "name": "user", "type": 3, "value": "jane.doe" }]
            }]
        }
    })
    .to_string()
    .into_bytes();
    let timestamp = now.to_string();
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(&body);
    let signature = key.sign(&message);
    let mut headers = HeaderMap::new();
    headers.insert(
        discord::SIGNATURE_HEADER,
        header_value(&hex::encode(signature.to_bytes()))?,
    );
    headers.insert(discord::TIMESTAMP_HEADER, header_value(&timestamp)?);
    Ok(DiscordDelivery {
        verifier,
        headers,
        body,
    })
}

/// A Slack slash command (`/passdesk reset user:jane.doe`) as Slack posts it, signed with a
/// signing secret generated here, and the bot's verifier for that secret.
fn slack_request(now: i64) -> Result<SlackRequest, BenchError> {
    let secret = hex::encode(rand::random::<[u8; 16]>());
    let body = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001ACME&team_domain=acme\
        &enterprise_id=&enterprise_name=&channel_id=C0HELPDESK&channel_name=helpdesk\
        &user_id=U0REQUEST1&user_name=ana&command=%2Fpassdesk&text=reset+user%3Ajane.doe\
        &api_app_id=A0PASSDESK&is_enterprise_install=false\
        &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0001ACME%2F1234567890123%2FpJ8kQ2rX7mN4vB6cY1zL3wH5\
        &trigger_id=1234567890123.1234567890.0f2e4d6c8b0a1928374655647382910a"
        .as_bytes()
        .to_vec();
    let timestamp = now.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| BenchError::new(SCENARIO, format!("slack hmac key: {e}")))?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(&body);
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let verifier = slack::SignatureVerifier::new(SecretString::from(secret))
        .with_clock(Arc::new(StoppedClock(now)));
    let mut headers = HeaderMap::new();
    headers.insert(slack::SIGNATURE_HEADER, header_value(&signature)?);
    headers.insert(slack::TIMESTAMP_HEADER, header_value(&timestamp)?);
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    Ok(SlackRequest {
        verifier,
        headers,
        body,
    })
}

fn header_value(text: &str) -> Result<HeaderValue, BenchError> {
    HeaderValue::from_str(text).map_err(|e| BenchError::new(SCENARIO, e))
}

/// A confirmation plan: `reset user:jane.doe` for one target; for more, `reset group:NewUsers`
/// with a realistic mix (one in ten suspended and skipped, three in ten pending and sent an
/// activation mail, the rest active and sent a reset mail; a few locked or expired).
fn plan_of(targets: usize) -> Result<Plan, BenchError> {
    let parse = |command: &str, option: &str, value: &str| -> Result<Request, BenchError> {
        parse_command(command, &[(option.to_owned(), value.to_owned())])
            .map_err(|e| BenchError::new(SCENARIO, e.message()))
    };
    let (request, scope) = if targets == 1 {
        (
            parse("reset", "user", "jane.doe")?,
            "user jane.doe".to_owned(),
        )
    } else {
        (
            parse("reset", "group", "NewUsers")?,
            format!(
                "members of JumpCloud group \"NewUsers\" ({})",
                thousands(targets as u64)
            ),
        )
    };
    let mut planned = Vec::with_capacity(targets);
    for i in 0..targets {
        let username = if targets == 1 {
            "jane.doe".to_owned()
        } else {
            format!("user.{i:04}")
        };
        let id: UserId = format!("5f0c1a2b3c4d{i:012x}")
            .parse()
            .map_err(|e| BenchError::new(SCENARIO, format!("user id: {e}")))?;
        let mut user = SystemUser::new(id, username.clone());
        user.email = Some(format!("{username}@acme.example"));
        user.firstname = Some("Jane".to_owned());
        user.lastname = Some(format!("Doe {i}"));
        user.account_locked = i % 17 == 5;
        user.password_expired = i % 13 == 4;
        let action = match i % 10 {
            9 => {
                user.state = UserState::Suspended;
                user.suspended = true;
                user.activated = true;
                PlannedAction::Skip(SkipReason::Suspended)
            }
            1..=3 => {
                user.state = UserState::Activated;
                PlannedAction::ActivationMail
            }
            _ => {
                user.state = UserState::Activated;
                user.activated = true;
                PlannedAction::ResetMail
            }
        };
        let notes = if user.account_locked {
            vec!["account locked: the mail is still sent".to_owned()]
        } else {
            Vec::new()
        };
        planned.push(PlannedTarget {
            label: username,
            user: Some(user),
            action,
            notes,
        });
    }
    Ok(Plan {
        request,
        scope,
        targets: planned,
        warnings: Vec::new(),
        planned_at: chrono::Utc::now(),
    })
}

/// One bench timed: nanoseconds per operation of each repetition.
#[derive(Debug, Clone)]
struct Timed {
    per_op_ns: Vec<f64>,
    iterations: u64,
}

/// Times `bench`: an untimed warm-up of a tenth of the iterations, then `repetitions` timed
/// runs of `iterations` operations each. Every operation must succeed.
fn time(bench: &MicroBench, iterations: u64, repetitions: usize) -> Result<Timed, BenchError> {
    let run = |n: u64| -> Result<Duration, BenchError> {
        let started = Instant::now();
        let mut ok = 0u64;
        for _ in 0..n {
            ok += u64::from(black_box(bench.run_once()));
        }
        let elapsed = started.elapsed();
        if ok == n {
            Ok(elapsed)
        } else {
            Err(BenchError::new(
                SCENARIO,
                format!(
                    "{}: {} of {} operations failed while timed",
                    bench.label,
                    thousands(n - ok),
                    thousands(n)
                ),
            ))
        }
    };
    run((iterations / 10).max(1))?;
    let mut per_op_ns = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let elapsed = run(iterations)?;
        per_op_ns.push(elapsed.as_nanos() as f64 / iterations as f64);
    }
    Ok(Timed {
        per_op_ns,
        iterations,
    })
}

/// `850 ns`, `41.2 µs`, `1.23 ms`.
fn format_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

/// `< 100 µs`, `< 2 ms`.
fn format_target(target: Duration) -> String {
    let micros = target.as_micros();
    if micros >= 1_000 && micros % 1_000 == 0 {
        format!("< {} ms", micros / 1_000)
    } else {
        format!("< {micros} µs")
    }
}

/// Share of one core that `ns` per request costs at [`RATE`] requests per second, in percent.
fn core_share(ns: f64) -> f64 {
    ns * RATE / 1e9 * 100.0
}

/// Times every bench (off the async runtime) and builds the rows and notes.
fn measure(size: Size) -> Result<Section, BenchError> {
    let benches = benches()?;
    let repetitions = size.repetitions();
    let mut section = Section::default();
    let mut medians: Vec<(&'static str, f64)> = Vec::new();
    for bench in &benches {
        let iterations = match size {
            Size::Full => bench.iterations,
            Size::Smoke => (bench.iterations / 1_000).max(4),
        };
        let timed = time(bench, iterations, repetitions)?;
        let Some(ns) = median(&timed.per_op_ns) else {
            return Err(BenchError::new(SCENARIO, "no timing"));
        };
        medians.push((bench.id, ns));
        let ok = ns < bench.target.as_nanos() as f64;
        section.rows.push(Row::new(
            format!("micro: {}", bench.label),
            format!(
                "{}; median of {} × {}",
                bench.params,
                repetitions,
                thousands(timed.iterations)
            ),
            format!("{}/op", format_ns(ns)),
            format_target(bench.target),
            Verdict::check(size, ok),
        ));
    }
    let of = |id: &str| {
        medians
            .iter()
            .find(|(bench, _)| *bench == id)
            .map_or(f64::NAN, |(_, ns)| *ns)
    };
    let parse_max = medians
        .iter()
        .filter(|(id, _)| id.starts_with("parse_"))
        .map(|(_, ns)| *ns)
        .fold(0.0, f64::max);
    let discord = of("discord_ed25519_verify");
    let slack = of("slack_hmac_verify");
    let render = of("render_plan_1");
    section.notes.push(format!(
        "micro budgets: at {} req/s one core has 500 µs per request, and the signature check \
         should take at most a fifth of it: Ed25519 < 100 µs and HMAC < 20 µs mean \
         2,000 req/s cost < 20% (Ed25519) and < 4% (HMAC) of one core. Parsing (< 20 µs) and \
         rendering a one-target prompt (< 100 µs) sit on the same path; a 500-target prompt \
         is rendered once per bulk request (< 2 ms). Measured at 2,000 req/s: Ed25519 \
         {:.1}%, HMAC {:.2}%, Discord verify + slowest parse + 1-target render {:.1}% of one \
         core.",
        thousands(RATE as u64),
        core_share(discord),
        core_share(slack),
        core_share(discord + parse_max + render),
    ));
    section.notes.push(
        "micro method: each figure is the median of the repetitions of a fixed iteration \
         count after an untimed warm-up, on one thread, through the bots' real verifiers \
         (fixed clock, fresh key pair and secret per run) and commands' real parser and \
         renderer; `cargo bench -p passdesk-tests --bench micro` runs the same operations \
         under criterion."
            .to_owned(),
    );
    Ok(section)
}

/// Runs the scenario: times every [`MicroBench`] on a blocking thread.
///
/// # Errors
///
/// A fixture could not be built, an operation failed while timed, or the timing thread died.
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let size = ctx.size;
    tokio::task::spawn_blocking(move || measure(size))
        .await
        .map_err(|e| BenchError::new(SCENARIO, format!("the timing thread failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_passes_its_own_check() {
        let benches = benches().unwrap();
        assert_eq!(benches.len(), 9);
        for bench in &benches {
            assert!(bench.run_once(), "{}", bench.label);
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_ns(850.4), "850 ns");
        assert_eq!(format_ns(41_234.0), "41.2 µs");
        assert_eq!(format_ns(1_234_567.0), "1.23 ms");
        assert_eq!(format_target(Duration::from_micros(100)), "< 100 µs");
        assert_eq!(format_target(Duration::from_millis(2)), "< 2 ms");
        assert!((core_share(100_000.0) - 20.0).abs() < 1e-9);
    }
}
