//! One repetition of each side of the comparison: Passdesk's engine running `reset group:…`
//! against a fresh JumpCloud simulator, and the sequential loop over the same client type.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use passdesk_commands::audit::Auditor;
use passdesk_commands::ids::ButtonAction;
use passdesk_commands::{
    Actor, Engine, EngineParts, Invocation, JumpCloudClients, Platform, Press, TargetOutcome,
    split_text,
};
use passdesk_config::{Config, MapEnv};
use passdesk_core::jumpcloud::JumpCloudClient;
use passdesk_sim::jumpcloud::{GroupSeed, JumpCloudSim, RateLimit, generated_users};

use crate::bench::BenchError;
use crate::jumpcloud::KEY;

const SCENARIO: &str = "bulk";
/// The group every repetition resets.
const GROUP: &str = "Bulk";
/// The command-line identity of the helpdesk member who asks and confirms.
const REQUESTER: &str = "bench.helpdesk";
/// The environment variable the configuration names for the API key.
const KEY_VAR: &str = "PD_BENCH_JUMPCLOUD_KEY";

/// The upstream a repetition runs against.
#[derive(Debug, Clone, Copy)]
pub(super) struct Upstream {
    /// Users in the group.
    pub users: usize,
    /// Latency the simulator adds to every request.
    pub latency: Duration,
    /// The simulator's limit, requests per second per API key (a fixed one-second window).
    pub limit: u32,
}

/// What one Passdesk repetition measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Run {
    /// From the Confirm press to the report.
    pub elapsed: Duration,
    /// Targets in the plan.
    pub targets: usize,
    /// Targets the report shows as failed or unknown.
    pub failed: usize,
    /// Mails beyond the first to the same user.
    pub duplicates: usize,
    /// Group members the simulator did not mail at all.
    pub unmailed: usize,
    /// `429`s the simulator answered.
    pub rate_limited: usize,
    /// Requests the simulator admitted (answered other than `429`).
    pub admitted: usize,
}

impl Run {
    /// Targets per second.
    pub fn throughput(&self) -> f64 {
        per_second(self.targets, self.elapsed)
    }

    /// Admitted upstream requests per second.
    pub fn request_rate(&self) -> f64 {
        per_second(self.admitted, self.elapsed)
    }
}

/// `n` per `elapsed`, per second.
pub(super) fn per_second(n: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// A simulator with a group of `users` fresh users, no latency and no limit yet (planning is
/// not what is measured; the knobs are turned at the Confirm press).
async fn simulator(users: usize) -> Result<(JumpCloudSim, Vec<String>), BenchError> {
    let names: Vec<String> = (0..users).map(|i| format!("bulk.{i:04}")).collect();
    let sim = JumpCloudSim::builder()
        .api_key(KEY, [passdesk_sim::jumpcloud::DEFAULT_ORG_ID])
        .users(generated_users("bulk", users))
        .group(GroupSeed::new(GROUP).members(names.clone()))
        .start()
        .await
        .map_err(|e| BenchError::new(SCENARIO, format!("starting the jumpcloud simulator: {e}")))?;
    Ok((sim, names))
}

/// Passdesk's configuration: `[bulk]` at `rate_per_second` with `concurrency`, no approval,
/// no cooldown, room for every target.
fn config(
    base_url: &str,
    audit: &Path,
    users: usize,
    concurrency: usize,
    rate_per_second: f64,
) -> Result<Config, BenchError> {
    let text = format!(
        r#"
[jumpcloud]
base_url = "{base_url}"
api_key = {{ env = "{KEY_VAR}" }}
timeout_seconds = 10
connect_timeout_seconds = 2

[groups.helpdesk]
cli_users = ["{REQUESTER}"]

[policy.reset]
groups = ["helpdesk"]
approval = "none"

[limits]
max_targets = {max_targets}
confirmation_ttl_seconds = 600
cooldown_seconds = 0
max_per_hour = 10000

[bulk]
concurrency = {concurrency}
rate_per_second = {rate_per_second}
progress_interval_ms = 250

[audit]
path = "{audit}"
"#,
        max_targets = users.max(1),
        audit = audit.display(),
    );
    let env = MapEnv::new().with(KEY_VAR, KEY);
    Config::from_toml_str(&text, &env)
        .map_err(|e| BenchError::new(SCENARIO, format!("the benchmark configuration: {e}")))
}

fn requester() -> Actor {
    Actor {
        platform: Platform::Cli,
        id: REQUESTER.to_owned(),
        display_name: "Bench Helpdesk".to_owned(),
        roles: Vec::new(),
    }
}

/// One repetition: a fresh simulator and engine; `reset group:Bulk` is planned, then the
/// simulator's latency and limit are set, and the time runs from the Confirm press to the
/// report it returns.
pub(super) async fn passdesk(
    upstream: Upstream,
    concurrency: usize,
    rate_per_second: f64,
    scratch: &Path,
    rep: usize,
) -> Result<Run, BenchError> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| BenchError::new(SCENARIO, format!("{what}: {e}"));
    let (sim, names) = simulator(upstream.users).await?;
    let audit = scratch.join(format!(
        "bulk-audit-{}-{rate_per_second}-{rep}.jsonl",
        upstream.limit
    ));
    let config = Arc::new(config(
        &sim.base_url(),
        &audit,
        upstream.users,
        concurrency,
        rate_per_second,
    )?);
    let auditor = Auditor::builder(&audit)
        .open()
        .await
        .map_err(|e| fail("opening the audit log", &e))?;
    let parts = EngineParts::from_config(config, auditor).map_err(|e| fail("the engine", &e))?;
    let engine = Engine::start(parts);
    let result = confirm_and_run(&engine, &sim, upstream, &names).await;
    engine.shutdown().await;
    result
}

async fn confirm_and_run(
    engine: &Engine,
    sim: &JumpCloudSim,
    upstream: Upstream,
    names: &[String],
) -> Result<Run, BenchError> {
    let (command, options) = split_text(&format!("reset group:{GROUP}"))
        .map_err(|e| BenchError::new(SCENARIO, format!("the command text: {e}")))?;
    let prompt = engine
        .invoke(Invocation {
            actor: requester(),
            channel: None,
            tenant: None,
            interaction_id: "bench-bulk-invoke".to_owned(),
            command,
            options,
        })
        .await;
    let planned = prompt.plan.as_ref().map_or(0, |plan| plan.actionable());
    let confirm = prompt
        .reply
        .buttons
        .iter()
        .find(|b| b.id.action == ButtonAction::Confirm)
        .map(|b| b.id)
        .ok_or_else(|| {
            BenchError::new(
                SCENARIO,
                format!(
                    "no Confirm button on the plan: {}",
                    prompt.reply.to_plain_text()
                ),
            )
        })?;
    if planned != upstream.users {
        return Err(BenchError::new(
            SCENARIO,
            format!("planned {planned} targets, expected {}", upstream.users),
        ));
    }

    sim.record().clear();
    sim.set_latency(upstream.latency);
    sim.set_rate_limit(Some(RateLimit::per_second(upstream.limit)));
    let started = Instant::now();
    let response = engine
        .press(Press {
            actor: requester(),
            channel: None,
            tenant: None,
            interaction_id: "bench-bulk-confirm".to_owned(),
            button: confirm,
        })
        .await;
    let elapsed = started.elapsed();
    let report = response.report.ok_or_else(|| {
        BenchError::new(
            SCENARIO,
            format!(
                "the Confirm press returned no report: {}",
                response.reply.to_plain_text()
            ),
        )
    })?;
    let failed = report
        .iter()
        .filter(|t| {
            matches!(
                t.outcome,
                TargetOutcome::Failed { .. } | TargetOutcome::Unknown { .. }
            )
        })
        .count();

    let record = sim.record();
    let mails = record.mails();
    let mut seen = HashSet::new();
    let duplicates = mails
        .iter()
        .filter(|m| !seen.insert(m.username.as_str()))
        .count();
    let unmailed = names.iter().filter(|n| !seen.contains(n.as_str())).count();
    let requests = record.requests();
    let rate_limited = requests.iter().filter(|r| r.status == Some(429)).count();
    Ok(Run {
        elapsed,
        targets: report.len(),
        failed,
        duplicates,
        unmailed,
        rate_limited,
        admitted: requests.len() - rate_limited,
    })
}

/// What one sequential repetition measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sequential {
    /// The loop's duration.
    pub elapsed: Duration,
    /// Users mailed.
    pub users: usize,
    /// Calls that failed.
    pub failed: usize,
}

impl Sequential {
    /// Users per second.
    pub fn throughput(&self) -> f64 {
        per_second(self.users, self.elapsed)
    }
}

/// The baseline: the client Passdesk's engine uses (built from the same configuration), doing
/// what a target costs Passdesk (`user_by_id`, then `send_reset_email`) one request at a time
/// over `upstream.users` users, on a fresh simulator with the
/// same latency and limit. The users are read before the clock starts.
pub(super) async fn sequential(
    upstream: Upstream,
    scratch: &Path,
) -> Result<Sequential, BenchError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        BenchError::new(SCENARIO, format!("sequential baseline, {what}: {e}"))
    };
    let (sim, _) = simulator(upstream.users).await?;
    let config = config(
        &sim.base_url(),
        &scratch.join("unused.jsonl"),
        upstream.users,
        1,
        1.0,
    )?;
    let client: JumpCloudClient = JumpCloudClients::from_config(&config)
        .map_err(|e| fail("the client", &e))?
        .for_org(None)
        .cloned()
        .ok_or_else(|| BenchError::new(SCENARIO, "sequential baseline: no jumpcloud client"))?;
    let group_name = GROUP.parse().map_err(|e| fail("the group name", &e))?;
    let group = client
        .group_by_name(&group_name)
        .await
        .map_err(|e| fail("reading the group", &e))?;
    let users = client
        .group_member_users(&group)
        .await
        .map_err(|e| fail("reading the members", &e))?
        .users;

    sim.set_latency(upstream.latency);
    sim.set_rate_limit(Some(RateLimit::per_second(upstream.limit)));
    let started = Instant::now();
    let mut failed = 0;
    for user in &users {
        // The same two requests a target costs Passdesk: the user read again, then mailed.
        let sent = match client.user_by_id(&user.id).await {
            Ok(fresh) => client.send_reset_email(&fresh).await.is_ok(),
            Err(_) => false,
        };
        if !sent {
            failed += 1;
        }
    }
    let elapsed = started.elapsed();
    Ok(Sequential {
        elapsed,
        users: users.len(),
        failed,
    })
}
