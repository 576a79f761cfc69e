//! Properties of the configuration parser (issue #10, "Hostile input"): whatever text it is
//! given, it answers without panicking; every problem names the key (or, for broken TOML, the
//! line) and a fix, on one line, without repeating a secret; and configurations generated
//! within the documented rules load, with the values that were written.
// Generators and renderers outside #[test] functions unwrap: a panic there is a failed test with
// a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use passdesk_config::{
    ApprovalRule, ChannelRule, CommandName, Config, ConfigErrors, ErrorKind, MapEnv, Platform,
};
use proptest::prelude::*;
use secrecy::ExposeSecret as _;

/// Distinctive secret values: none of them may appear in an error.
const SECRETS: &[(&str, &str)] = &[
    ("JC_KEY", "jc-SECRET-7f3a9c1d-apikey"),
    ("IM_SECRET", "im-SECRET-0b1c2d3e-client"),
    ("SMTP_PASSWORD", "smtp-SECRET-44aa55bb-pass"),
    ("DISCORD_TOKEN", "discord-SECRET-9z8y7x6w-token"),
    ("SLACK_SIGNING", "slack-SECRET-1q2w3e4r-signing"),
    ("SLACK_TOKEN", "xoxb-SECRET-5t6y7u8i-token"),
];

fn env() -> MapEnv {
    SECRETS.iter().copied().collect()
}

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../passdesk.example.toml"
    ))
    .unwrap()
}

/// The example's environment names mapped onto the distinctive secrets.
fn example_env() -> MapEnv {
    let names = [
        "PASSDESK_JUMPCLOUD_API_KEY",
        "PASSDESK_IM_CLIENT_SECRET",
        "PASSDESK_SMTP_PASSWORD",
        "PASSDESK_DISCORD_BOT_TOKEN",
        "PASSDESK_SLACK_SIGNING_SECRET",
        "PASSDESK_SLACK_BOT_TOKEN",
    ];
    let mut env = env();
    for (name, (_, value)) in names.iter().zip(SECRETS) {
        env.insert(*name, *value);
    }
    env
}

/// What every error must look like, whatever the input: a key (or, for broken TOML, a line), a
/// problem and a fix, one line, no secret the input did not itself contain.
fn check_errors(input: &str, errors: &ConfigErrors) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "an error list that is empty");
    for error in errors {
        let shown = error.to_string();
        prop_assert!(
            !error.key.is_empty() || (error.kind == ErrorKind::Syntax && error.line.is_some()),
            "an error that names neither a key nor a line: {:?}",
            error
        );
        prop_assert!(
            !error.problem.trim().is_empty(),
            "no problem in {:?}",
            error
        );
        prop_assert!(!error.fix.trim().is_empty(), "no fix in {:?}", error);
        prop_assert!(
            !shown.contains(['\n', '\r']),
            "an error spanning lines (log injection): {:?}",
            shown
        );
        for (_, secret) in SECRETS {
            if !input.contains(secret) {
                prop_assert!(!shown.contains(secret), "a secret in {:?}", shown);
            }
        }
    }
    Ok(())
}

fn load(text: &str, env: &MapEnv) -> Result<Result<Config, ConfigErrors>, TestCaseError> {
    let result = Config::from_toml_str(text, env);
    if let Err(errors) = &result {
        check_errors(text, errors)?;
    }
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// Arbitrary text.

/// Bits of TOML, right and wrong, in the schema's vocabulary.
const TOKENS: &[&str] = &[
    "[jumpcloud]",
    "[discord]",
    "[slack]",
    "[groups.helpdesk]",
    "[policy.reset]",
    "[policy.expire]",
    "[audit]",
    "[[groups]]",
    "[discord.guilds]",
    "[limits]",
    "[identity_manager.mail.smtp]",
    "api_key = { env = \"JC_KEY\" }",
    "api_key = \"jc-SECRET-7f3a9c1d-apikey\"",
    "bot_token = { file = \"/nonexistent/x\" }",
    "bot_token = { env = \"NOPE\" }",
    "signing_secret = { env = \"SLACK_SIGNING\", file = \"x\" }",
    "groups = [\"helpdesk\"]",
    "approval = \"bulk\"",
    "bulk_threshold = 99999",
    "cli_users = [\"alice\"]",
    "discord_roles = [\"1\"]",
    "path = \"a.jsonl\"",
    "max_targets = -1",
    "rate_per_second = nan",
    "concurrency = 1e400",
    "\"423456789012345678\" = \"default\"",
    "x = 1",
    "= =",
    "\"",
    "'''",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "\r\n",
    "#",
    ".",
    "\u{0}",
    "\u{feff}",
];

fn toml_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
            1 => "[ -~]{0,12}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.join("\n"))
}

/// The example file with lines dropped, repeated or replaced.
fn mutated_example() -> impl Strategy<Value = String> {
    let lines: Vec<String> = example().lines().map(str::to_owned).collect();
    let count = lines.len();
    proptest::collection::vec(
        (
            0..count,
            0..4_u8,
            proptest::sample::select(TOKENS).prop_map(str::to_owned),
        ),
        1..8,
    )
    .prop_map(move |edits| {
        let mut lines = lines.clone();
        for (at, how, token) in edits {
            let at = at.min(lines.len().saturating_sub(1));
            if lines.is_empty() {
                break;
            }
            match how {
                0 => {
                    lines.remove(at);
                }
                1 => {
                    let line = lines[at].clone();
                    lines.insert(at, line);
                }
                2 => lines[at] = token,
                _ => {
                    // Keep the key, replace the value.
                    if let Some((key, _)) = lines[at].split_once('=') {
                        lines[at] = format!("{key}= {token}");
                    }
                }
            }
        }
        lines.join("\n")
    })
}

/// `text` with the secret reference of `[section] name` replaced by the secret itself.
fn inline_secret(text: &str, section: &str, name: &str, secret: &str) -> String {
    let header = format!("\n[{section}]\n");
    let start = text.find(&header).unwrap() + header.len();
    let line_start = start + text[start..].find(&format!("\n{name} = ")).unwrap() + 1;
    let line_end = line_start + text[line_start..].find('\n').unwrap();
    format!(
        "{}{name} = \"{secret}\"{}",
        &text[..line_start],
        &text[line_end..]
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_answered_without_panic(text in any::<String>()) {
        let _ = load(&text, &env())?;
    }

    #[test]
    fn toml_soup_is_answered_with_errors_that_name_their_key(text in toml_soup()) {
        let _ = load(&text, &env())?;
    }

    #[test]
    fn a_damaged_example_is_answered_with_errors_that_name_their_key(text in mutated_example()) {
        let _ = load(&text, &example_env())?;
    }

    #[test]
    fn an_inline_secret_is_refused_without_being_repeated(
        key in proptest::sample::select(vec![
            ("jumpcloud", "api_key"),
            ("slack", "signing_secret"),
            ("slack", "bot_token"),
            ("discord", "bot_token"),
        ]),
        secret in "[A-Za-z0-9_-]{12,40}",
    ) {
        let (section, name) = key;
        let text = inline_secret(&example(), section, name, &secret);
        let Err(errors) = Config::from_toml_str(&text, &example_env()) else {
            return Err(TestCaseError::fail("an inline secret was accepted"));
        };
        prop_assert!(
            errors.iter().any(|e| e.kind == ErrorKind::InlineSecret && e.key.ends_with(name)),
            "{}", errors
        );
        prop_assert!(!errors.to_string().contains(&secret), "{}", errors);
    }
}

// ---------------------------------------------------------------------------------------------
// Generated valid configurations.

#[derive(Debug, Clone)]
struct GroupSpec {
    discord_roles: Vec<u64>,
    discord_users: Vec<u64>,
    slack_usergroups: Vec<String>,
    slack_users: Vec<String>,
    cli_users: Vec<String>,
}

#[derive(Debug, Clone)]
enum Approval {
    None,
    Always,
    Bulk(u32),
}

#[derive(Debug, Clone)]
struct PolicySpec {
    groups: Vec<String>,
    approval: Approval,
    approvers: Vec<String>,
    discord: Option<Vec<u64>>,
    slack: Option<Vec<String>>,
    allow_self: bool,
}

#[derive(Debug, Clone)]
struct Spec {
    region: &'static str,
    timeout: u64,
    tenants: BTreeMap<String, String>,
    discord: Option<BTreeMap<u64, String>>,
    slack: Option<BTreeMap<String, String>>,
    groups: BTreeMap<String, GroupSpec>,
    policies: BTreeMap<&'static str, PolicySpec>,
    max_targets: u32,
    cooldown: u64,
    concurrency: u64,
    audit: String,
}

fn snowflake() -> impl Strategy<Value = u64> {
    // 17 to 19 digits, no leading zero (20-digit ids must still fit in 64 bits).
    10_000_000_000_000_000_u64..=9_999_999_999_999_999_999
}

fn slack_id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[0-9A-Z]{7,12}".prop_map(move |rest| format!("{prefix}{rest}"))
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,12}"
}

fn group_spec() -> impl Strategy<Value = GroupSpec> {
    (
        proptest::collection::vec(snowflake(), 0..3),
        proptest::collection::vec(snowflake(), 0..3),
        proptest::collection::vec(slack_id("S"), 0..3),
        proptest::collection::vec(slack_id("U"), 0..3),
        proptest::collection::vec("[a-z_][a-z0-9._-]{0,10}", 0..3),
    )
        .prop_map(|(mut dr, mut du, mut su, mut sus, mut cli)| {
            for list in [&mut dr, &mut du] {
                list.sort_unstable();
                list.dedup();
            }
            for list in [&mut su, &mut sus, &mut cli] {
                list.sort();
                list.dedup();
            }
            if dr.is_empty() && du.is_empty() && su.is_empty() && sus.is_empty() && cli.is_empty() {
                cli.push("alice".to_owned());
            }
            GroupSpec {
                discord_roles: dr,
                discord_users: du,
                slack_usergroups: su,
                slack_users: sus,
                cli_users: cli,
            }
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        proptest::sample::select(vec!["us", "eu", "in"]),
        1_u64..=600,
        proptest::collection::btree_map(
            name().prop_filter("reserved", |n| n != "default"),
            "[0-9a-f]{24}",
            0..3,
        ),
        proptest::collection::btree_map(name(), group_spec(), 1..4),
        any::<bool>(),
        any::<bool>(),
        2_u32..=10_000,
        0_u64..=3600,
        1_u64..=64,
        "[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.jsonl",
        any::<[u64; 12]>(),
    )
        .prop_map(
            |(
                region,
                timeout,
                tenants,
                groups,
                with_discord,
                with_slack,
                max_targets,
                cooldown,
                concurrency,
                audit,
                dice,
            )| {
                let mut pick = dice.into_iter().cycle();
                let mut roll =
                    move |n: usize| (pick.next().unwrap_or(0) % n.max(1) as u64) as usize;
                let tenant_refs: Vec<String> = std::iter::once("default".to_owned())
                    .chain(tenants.keys().cloned())
                    .collect();
                let discord = with_discord.then(|| {
                    let guild = 400_000_000_000_000_000 + roll(1_000_000) as u64;
                    BTreeMap::from([(guild, tenant_refs[roll(tenant_refs.len())].clone())])
                });
                let slack = with_slack.then(|| {
                    BTreeMap::from([(
                        format!("T0TEAM{:04}", roll(10_000)),
                        tenant_refs[roll(tenant_refs.len())].clone(),
                    )])
                });
                let names: Vec<String> = groups.keys().cloned().collect();
                let mut policies = BTreeMap::new();
                for command in ["reset", "expire", "notify"] {
                    if roll(3) == 0 {
                        continue;
                    }
                    let groups = vec![names[roll(names.len())].clone()];
                    let approval = match roll(3) {
                        0 => Approval::None,
                        1 => Approval::Always,
                        _ => Approval::Bulk(1 + roll(max_targets as usize - 1) as u32),
                    };
                    let approvers = match approval {
                        Approval::None => Vec::new(),
                        _ => vec![names[roll(names.len())].clone()],
                    };
                    let discord = discord.as_ref().map(|_| match roll(2) {
                        0 => Vec::new(),
                        _ => vec![500_000_000_000_000_000 + roll(1_000) as u64],
                    });
                    let slack = slack.as_ref().map(|_| match roll(2) {
                        0 => Vec::new(),
                        _ => vec![format!("C0CHAN{:04}", roll(10_000))],
                    });
                    policies.insert(
                        command,
                        PolicySpec {
                            groups,
                            approval,
                            approvers,
                            discord,
                            slack,
                            allow_self: roll(2) == 0,
                        },
                    );
                }
                Spec {
                    region,
                    timeout,
                    tenants,
                    discord,
                    slack,
                    groups,
                    policies,
                    max_targets,
                    cooldown,
                    concurrency,
                    audit,
                }
            },
        )
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Spec {
    fn render(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "[jumpcloud]\nregion = \"{}\"", self.region);
        let _ = writeln!(t, "api_key = {{ env = \"JC_KEY\" }}");
        let _ = writeln!(t, "timeout_seconds = {}", self.timeout);
        if !self.tenants.is_empty() {
            let _ = writeln!(t, "[jumpcloud.tenants]");
            for (name, org) in &self.tenants {
                let _ = writeln!(t, "{name} = \"{org}\"");
            }
        }
        if self.policies.contains_key("notify") {
            t.push_str(
                "[identity_manager]\napplication_uri = \"https://im.acme.example\"\n\
                 client_id = \"Job\"\nclient_secret = { env = \"IM_SECRET\" }\n\
                 [identity_manager.mail]\nfrom_address = \"no-reply@acme.example\"\n\
                 [identity_manager.mail.smtp]\nhost = \"smtp.acme.example\"\nport = 587\n\
                 secure = \"start_tls\"\nusername = \"passdesk\"\n\
                 password = { env = \"SMTP_PASSWORD\" }\n",
            );
        }
        if let Some(guilds) = &self.discord {
            t.push_str(
                "[discord]\napplication_id = \"123456789012345678\"\n\
                 bot_token = { env = \"DISCORD_TOKEN\" }\n\
                 approvals_channel = \"223456789012345678\"\n[discord.guilds]\n",
            );
            for (guild, tenant) in guilds {
                let _ = writeln!(t, "\"{guild}\" = \"{tenant}\"");
            }
        }
        if let Some(teams) = &self.slack {
            t.push_str(
                "[slack]\nsigning_secret = { env = \"SLACK_SIGNING\" }\n\
                 bot_token = { env = \"SLACK_TOKEN\" }\napprovals_channel = \"C0APPROVAL1\"\n\
                 [slack.teams]\n",
            );
            for (team, tenant) in teams {
                let _ = writeln!(t, "{team} = \"{tenant}\"");
            }
        }
        for (name, g) in &self.groups {
            let _ = writeln!(t, "[groups.{name}]");
            let _ = writeln!(t, "discord_roles = {}", list(&g.discord_roles));
            let _ = writeln!(t, "discord_users = {}", list(&g.discord_users));
            let _ = writeln!(t, "slack_usergroups = {}", list(&g.slack_usergroups));
            let _ = writeln!(t, "slack_users = {}", list(&g.slack_users));
            let _ = writeln!(t, "cli_users = {}", list(&g.cli_users));
        }
        for (command, p) in &self.policies {
            let _ = writeln!(t, "[policy.{command}]");
            let _ = writeln!(t, "groups = {}", list(&p.groups));
            match p.approval {
                Approval::None => t.push_str("approval = \"none\"\n"),
                Approval::Always => t.push_str("approval = \"always\"\n"),
                Approval::Bulk(n) => {
                    let _ = writeln!(t, "approval = \"bulk\"\nbulk_threshold = {n}");
                }
            }
            if !p.approvers.is_empty() {
                let _ = writeln!(t, "approver_groups = {}", list(&p.approvers));
            }
            let _ = writeln!(t, "allow_self = {}", p.allow_self);
            let mut channels = Vec::new();
            if let Some(discord) = &p.discord {
                let ids = if discord.is_empty() {
                    "[\"*\"]".to_owned()
                } else {
                    list(discord)
                };
                channels.push(format!("discord = {ids}"));
            }
            if let Some(slack) = &p.slack {
                let ids = if slack.is_empty() {
                    "[\"*\"]".to_owned()
                } else {
                    list(slack)
                };
                channels.push(format!("slack = {ids}"));
            }
            if !channels.is_empty() {
                let _ = writeln!(t, "channels = {{ {} }}", channels.join(", "));
            }
        }
        let _ = writeln!(
            t,
            "[limits]\nmax_targets = {}\ncooldown_seconds = {}",
            self.max_targets, self.cooldown
        );
        let _ = writeln!(t, "[bulk]\nconcurrency = {}", self.concurrency);
        let _ = writeln!(t, "[audit]\npath = \"{}\"", self.audit);
        t
    }
}

fn command(name: &str) -> CommandName {
    name.parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_valid_configs_load_with_what_was_written(spec in spec()) {
        let text = spec.render();
        let config = match load(&text, &env())? {
            Ok(config) => config,
            Err(errors) => {
                return Err(TestCaseError::fail(format!("{errors}\n--- config ---\n{text}")));
            }
        };
        let jumpcloud = config.jumpcloud.as_ref().unwrap();
        prop_assert_eq!(jumpcloud.api_key.expose_secret(), "jc-SECRET-7f3a9c1d-apikey");
        prop_assert_eq!(jumpcloud.timeout, Duration::from_secs(spec.timeout));
        let tenants: BTreeMap<String, String> = jumpcloud
            .tenants
            .iter()
            .map(|(name, org)| (name.clone(), org.as_str().to_owned()))
            .collect();
        prop_assert_eq!(&tenants, &spec.tenants);
        prop_assert!(!format!("{config:?}").contains("SECRET"), "a secret in Debug");

        prop_assert_eq!(
            config.groups.keys().cloned().collect::<BTreeSet<_>>(),
            spec.groups.keys().cloned().collect::<BTreeSet<_>>()
        );
        for (name, g) in &spec.groups {
            let group = config.group(name).unwrap();
            let roles: Vec<u64> = group.discord_roles.iter().map(|s| s.get()).collect();
            let users: Vec<u64> = group.discord_users.iter().map(|s| s.get()).collect();
            let slack_groups: Vec<String> =
                group.slack_usergroups.iter().map(ToString::to_string).collect();
            let slack_users: Vec<String> =
                group.slack_users.iter().map(ToString::to_string).collect();
            let cli: Vec<String> = group.cli_users.iter().map(|u| u.as_str().to_owned()).collect();
            prop_assert_eq!(&roles, &g.discord_roles);
            prop_assert_eq!(&users, &g.discord_users);
            prop_assert_eq!(&slack_groups, &g.slack_usergroups);
            prop_assert_eq!(&slack_users, &g.slack_users);
            prop_assert_eq!(&cli, &g.cli_users);
        }

        for name in ["reset", "expire", "notify"] {
            let policy = config.policy(command(name));
            let Some(p) = spec.policies.get(name) else {
                prop_assert!(policy.is_none(), "{name} enabled without a policy");
                continue;
            };
            let policy = policy.unwrap();
            prop_assert_eq!(&policy.groups, &p.groups);
            prop_assert_eq!(&policy.approver_groups, &p.approvers);
            prop_assert_eq!(policy.allow_self, p.allow_self);
            let expected = match p.approval {
                Approval::None => ApprovalRule::None,
                Approval::Always => ApprovalRule::Always,
                Approval::Bulk(threshold) => ApprovalRule::Bulk { threshold },
            };
            prop_assert_eq!(policy.approval, expected);
            match &p.discord {
                None => prop_assert_eq!(&policy.channels.discord, &ChannelRule::Disabled),
                Some(ids) if ids.is_empty() => {
                    prop_assert!(policy.allows_channel(Platform::Discord, "700000000000000001"));
                }
                Some(ids) => {
                    for id in ids {
                        prop_assert!(policy.allows_channel(Platform::Discord, &id.to_string()));
                    }
                    prop_assert!(!policy.allows_channel(Platform::Discord, "700000000000000001"));
                }
            }
            match &p.slack {
                None => prop_assert_eq!(&policy.channels.slack, &ChannelRule::Disabled),
                Some(ids) if ids.is_empty() => {
                    prop_assert!(policy.allows_channel(Platform::Slack, "C0ANYWHERE1"));
                }
                Some(ids) => {
                    for id in ids {
                        prop_assert!(policy.allows_channel(Platform::Slack, id));
                    }
                    prop_assert!(!policy.allows_channel(Platform::Slack, "C0ANYWHERE1"));
                }
            }
        }

        if let Some(guilds) = &spec.discord {
            for (guild, tenant) in guilds {
                let served = config.discord_tenant(&guild.to_string()).unwrap();
                prop_assert_eq!(&served.name, tenant);
                let org = served.org_id.as_ref().map(|o| o.as_str().to_owned());
                prop_assert_eq!(org, spec.tenants.get(tenant).cloned());
            }
        } else {
            prop_assert!(config.discord.is_none());
        }
        if let Some(teams) = &spec.slack {
            for (team, tenant) in teams {
                prop_assert_eq!(&config.slack_tenant(team).unwrap().name, tenant);
            }
        } else {
            prop_assert!(config.slack.is_none());
        }
        prop_assert_eq!(config.limits.max_targets, spec.max_targets);
        prop_assert_eq!(config.limits.cooldown, Duration::from_secs(spec.cooldown));
        prop_assert_eq!(config.bulk.concurrency as u64, spec.concurrency);
        prop_assert_eq!(config.audit.path.to_str(), Some(spec.audit.as_str()));
    }

    #[test]
    fn a_generated_config_with_one_bad_value_names_that_key(
        spec in spec(),
        damage in proptest::sample::select(vec![
            ("timeout_seconds = ", "timeout_seconds = 0\n#", "jumpcloud.timeout_seconds"),
            ("region = ", "region = \"mars\"\n#", "jumpcloud.region"),
            ("max_targets = ", "max_targets = 0\n#", "limits.max_targets"),
            ("concurrency = ", "concurrency = \"eight\"\n#", "bulk.concurrency"),
            ("path = ", "path = 7\n#", "audit.path"),
            ("api_key = ", "api_key = { env = \"UNSET_VARIABLE\" }\n#", "jumpcloud.api_key"),
            ("api_key = ", "api_key = \"jc-SECRET-7f3a9c1d-apikey\"\n#", "jumpcloud.api_key"),
            ("[audit]", "[audit]\ncolour = \"blue\"", "audit.colour"),
        ]),
    ) {
        let (find, replace, key) = damage;
        let text = spec.render().replacen(find, replace, 1);
        let Err(errors) = Config::from_toml_str(&text, &env()) else {
            return Err(TestCaseError::fail(format!("accepted:\n{text}")));
        };
        // The inline secret is the input's own text, but it is still never repeated.
        prop_assert!(!errors.to_string().contains("SECRET"), "{}", errors);
        check_errors(&text, &errors)?;
        prop_assert!(
            errors.iter().any(|e| e.key == key && e.line.is_some()),
            "no error at {key} (with its line):\n{errors}"
        );
    }
}
