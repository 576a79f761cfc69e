//! From the raw shape to a [`Config`]: every rule, every error collected.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use passdesk_core::jumpcloud::{GroupName, OrgId, Region, Username};
use passdesk_core::mail::{
    Culture, Email, MailSettings, SecureSocketOption, TemplateOverrides, TemplateSource, Transport,
};
use secrecy::SecretString;
use url::Url;

use crate::document::{Document, KeyPath};
use crate::env::Env;
use crate::error::{ConfigError, ErrorKind};
use crate::ids::{
    CliUser, DiscordPublicKey, SlackAppId, SlackChannelId, SlackTeamId, SlackUserGroupId,
    SlackUserId, Snowflake, UsernamePattern, shown,
};
use crate::model::{
    Accounts, ApprovalRule, AuditConfig, BulkConfig, ChannelPolicy, ChannelRule, CommandName,
    CommandPolicy, Config, DiscordConfig, DiscordMode, Group, IdentityManagerConfig,
    JumpCloudConfig, Limits, Policies, ServerConfig, SlackConfig, TargetRules, Tenant,
};
use crate::raw::{
    RawAccounts, RawBulk, RawConfig, RawDiscord, RawGroup, RawIdentityManager, RawLimits, RawMail,
    RawPolicy, RawSecret, RawSlack, RawTargets,
};
use crate::secret;

/// Defaults and bounds, public so that documentation and callers agree with validation.
pub mod bounds {
    use std::ops::RangeInclusive;

    /// `limits.max_targets`: default and range.
    pub const MAX_TARGETS: (u64, RangeInclusive<u64>) = (500, 1..=10_000);
    /// `limits.confirmation_ttl_seconds`: default and range.
    pub const CONFIRMATION_TTL_SECONDS: (u64, RangeInclusive<u64>) = (120, 10..=3600);
    /// `limits.approval_ttl_seconds`: default and range.
    pub const APPROVAL_TTL_SECONDS: (u64, RangeInclusive<u64>) = (900, 60..=86_400);
    /// `limits.cooldown_seconds`: default and range (0 = none).
    pub const COOLDOWN_SECONDS: (u64, RangeInclusive<u64>) = (5, 0..=3600);
    /// `limits.max_per_hour`: default and range.
    pub const MAX_PER_HOUR: (u64, RangeInclusive<u64>) = (60, 1..=10_000);
    /// `bulk.concurrency`: default and range.
    pub const CONCURRENCY: (u64, RangeInclusive<u64>) = (8, 1..=64);
    /// `bulk.rate_per_second`: default and the largest value (it must be above zero).
    pub const RATE_PER_SECOND: (f64, f64) = (10.0, 1000.0);
    /// `bulk.progress_interval_ms`: default and range.
    pub const PROGRESS_INTERVAL_MS: (u64, RangeInclusive<u64>) = (2000, 250..=60_000);
    /// JumpCloud and Identity Manager `timeout_seconds`: range (defaults 30 s).
    pub const TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=600;
    /// `connect_timeout_seconds`: range.
    pub const CONNECT_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=120;
    /// `server.listen` default.
    pub const LISTEN: &str = "127.0.0.1:8080";
}

/// The tenant name that means `jumpcloud.org_id` (or the key's own organisation).
const DEFAULT_TENANT: &str = "default";
/// The wildcard of a channel allow-list.
const ANY_CHANNEL: &str = "*";

pub(crate) struct Validator<'a> {
    doc: &'a Document<'a>,
    env: &'a dyn Env,
    base: Option<&'a Path>,
    errors: Vec<ConfigError>,
}

impl<'a> Validator<'a> {
    pub(crate) fn new(doc: &'a Document<'a>, env: &'a dyn Env, base: Option<&'a Path>) -> Self {
        Self {
            doc,
            env,
            base,
            errors: Vec::new(),
        }
    }

    pub(crate) fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    fn err(
        &mut self,
        kind: ErrorKind,
        path: &KeyPath,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let line = self.doc.line_of(path);
        self.errors
            .push(ConfigError::new(kind, path.to_string(), problem, fix).at_line(line));
    }

    fn missing(&mut self, path: &KeyPath, fix: impl Into<String>) {
        self.err(ErrorKind::Missing, path, "required key is missing", fix);
    }

    /// Parses `value` as `T`, reporting the parser's own message.
    fn parse<T>(&mut self, path: &KeyPath, value: &str, fix: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        match value.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(ErrorKind::InvalidValue, path, e.to_string(), fix);
                None
            }
        }
    }

    /// Each element of a list parsed as `T`, duplicates dropped.
    fn parse_list<T>(&mut self, path: &KeyPath, values: &[String], fix: &str) -> Vec<T>
    where
        T: FromStr + PartialEq,
        T::Err: Display,
    {
        let mut out: Vec<T> = Vec::new();
        for (i, value) in values.iter().enumerate() {
            if let Some(v) = self.parse::<T>(&path.index(i), value, fix) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// A whole number in `range`, or its default.
    fn number(
        &mut self,
        path: &KeyPath,
        value: Option<u64>,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> u64 {
        match value {
            None => default,
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                self.err(
                    ErrorKind::OutOfRange,
                    path,
                    format!(
                        "{v} is out of range: allowed {} to {}",
                        range.start(),
                        range.end()
                    ),
                    format!(
                        "use a value from {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    fn seconds(
        &mut self,
        path: &KeyPath,
        value: Option<u64>,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Duration {
        Duration::from_secs(self.number(path, value, default, range))
    }

    /// A path from the file, relative ones resolved against the configuration's directory.
    fn file_path(&mut self, path: &KeyPath, value: &str) -> Option<PathBuf> {
        if value.trim().is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                path,
                "the path is empty",
                "give a file or directory path",
            );
            return None;
        }
        Some(resolve(self.base, value))
    }

    fn secret(&mut self, path: &KeyPath, raw: Option<&RawSecret>) -> Option<SecretString> {
        let Some(raw) = raw else {
            let key = path.last_key().unwrap_or("secret");
            self.missing(
                path,
                format!(
                    "add {key} = {{ env = \"{}\" }} or {key} = {{ file = \"/run/secrets/…\" }}",
                    secret::suggested_var(path)
                ),
            );
            return None;
        };
        let base = self.base;
        match secret::resolve(path, raw, self.env, |p| resolve(base, p)) {
            Ok(value) => Some(value),
            Err((kind, problem, fix)) => {
                self.err(kind, path, problem, fix);
                None
            }
        }
    }

    /// A service URL: `https`, or `http` to a loopback address (tests, the simulators).
    fn url(&mut self, path: &KeyPath, value: &str) -> Option<Url> {
        let fix = "write an https:// URL without credentials, query or fragment (plain http only \
                   to 127.0.0.1 or localhost)";
        let url = match Url::parse(value.trim()) {
            Ok(url) => url,
            Err(e) => {
                self.err(
                    ErrorKind::InvalidValue,
                    path,
                    format!("{:?} is not a URL: {e}", shown(value)),
                    fix,
                );
                return None;
            }
        };
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        let problem = if url.host().is_none() {
            Some("the URL has no host")
        } else if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
            Some("the URL must use https (plain http is only allowed to a loopback address)")
        } else if !url.username().is_empty() || url.password().is_some() {
            Some("the URL must not contain credentials")
        } else if url.query().is_some() || url.fragment().is_some() {
            Some("the URL must not have a query or fragment")
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.err(ErrorKind::InvalidValue, path, problem, fix);
                None
            }
            None => Some(url),
        }
    }

    /// A single-line, non-empty word (host names, client ids).
    fn word(&mut self, path: &KeyPath, value: &str, what: &str) -> Option<String> {
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.err(
                ErrorKind::InvalidValue,
                path,
                format!("{what} is empty or contains spaces"),
                format!("write the {what} alone, without spaces"),
            );
            return None;
        }
        Some(value.to_owned())
    }
}

fn resolve(base: Option<&Path>, value: &str) -> PathBuf {
    let path = Path::new(value);
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

/// Validates everything, recording every problem in `v`; `None` when there was any.
pub(crate) fn validate(raw: RawConfig, v: &mut Validator<'_>) -> Option<Config> {
    let root = KeyPath::root();
    let limits = limits(v, &raw.limits);
    let bulk = bulk(v, &raw.bulk);
    let (default_org, tenants) = tenants(v, raw.jumpcloud.as_ref());
    let tenant_of = |value: &str| resolve_tenant(value, default_org.as_ref(), &tenants);

    let jumpcloud = raw
        .jumpcloud
        .as_ref()
        .and_then(|jc| jumpcloud(v, jc, default_org.clone(), tenants.clone()));
    let identity_manager = raw
        .identity_manager
        .as_ref()
        .and_then(|im| identity_manager(v, im));
    let discord = raw.discord.as_ref().and_then(|d| discord(v, d, &tenant_of));
    let slack = raw.slack.as_ref().and_then(|s| slack(v, s, &tenant_of));

    let groups = groups(v, &raw.groups);
    let known: BTreeSet<&str> = raw.groups.keys().map(String::as_str).collect();
    let policies = policies(v, &raw, &known, &limits);
    let targets = targets(v, &raw.targets, &known);
    let accounts = accounts(v, &raw.accounts);

    let audit = match &raw.audit {
        None => {
            v.missing(
                &root.key("audit"),
                "add [audit] with path = \"/var/lib/passdesk/audit.jsonl\"",
            );
            None
        }
        Some(audit) => {
            let path = root.key("audit").key("path");
            match audit.path.as_deref() {
                None => {
                    v.missing(&path, "add path = \"/var/lib/passdesk/audit.jsonl\"");
                    None
                }
                Some(p) => v.file_path(&path, p).map(|path| AuditConfig { path }),
            }
        }
    };

    let listen_path = root.key("server").key("listen");
    let listen = raw.server.listen.as_deref().unwrap_or(bounds::LISTEN);
    let listen = match listen.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            v.err(
                ErrorKind::InvalidValue,
                &listen_path,
                format!("{:?} is not an address and port", shown(listen)),
                format!(
                    "write an IP address and port, e.g. listen = \"{}\"",
                    bounds::LISTEN
                ),
            );
            None
        }
    };

    if !v.errors.is_empty() {
        return None;
    }
    Some(Config {
        jumpcloud,
        identity_manager,
        discord,
        slack,
        groups,
        policies,
        targets,
        accounts,
        limits,
        bulk,
        audit: audit?,
        server: ServerConfig { listen: listen? },
    })
}

fn limits(v: &mut Validator<'_>, raw: &RawLimits) -> Limits {
    let p = KeyPath::root().key("limits");
    let (d, r) = bounds::MAX_TARGETS;
    let max_targets = v.number(&p.key("max_targets"), raw.max_targets, d, r);
    let (d, r) = bounds::CONFIRMATION_TTL_SECONDS;
    let confirmation_ttl = v.seconds(
        &p.key("confirmation_ttl_seconds"),
        raw.confirmation_ttl_seconds,
        d,
        r,
    );
    let (d, r) = bounds::APPROVAL_TTL_SECONDS;
    let approval_ttl = v.seconds(
        &p.key("approval_ttl_seconds"),
        raw.approval_ttl_seconds,
        d,
        r,
    );
    let (d, r) = bounds::COOLDOWN_SECONDS;
    let cooldown = v.seconds(&p.key("cooldown_seconds"), raw.cooldown_seconds, d, r);
    let (d, r) = bounds::MAX_PER_HOUR;
    let max_per_hour = v.number(&p.key("max_per_hour"), raw.max_per_hour, d, r);
    Limits {
        max_targets: u32::try_from(max_targets).unwrap_or(u32::MAX),
        confirmation_ttl,
        approval_ttl,
        cooldown,
        max_per_hour: u32::try_from(max_per_hour).unwrap_or(u32::MAX),
    }
}

fn bulk(v: &mut Validator<'_>, raw: &RawBulk) -> BulkConfig {
    let p = KeyPath::root().key("bulk");
    let (d, r) = bounds::CONCURRENCY;
    let concurrency = v.number(&p.key("concurrency"), raw.concurrency, d, r);
    let (default_rate, max_rate) = bounds::RATE_PER_SECOND;
    let rate_per_second = match raw.rate_per_second {
        None => default_rate,
        Some(rate) if rate.is_finite() && rate > 0.0 && rate <= max_rate => rate,
        Some(rate) => {
            v.err(
                ErrorKind::OutOfRange,
                &p.key("rate_per_second"),
                format!("{rate} is out of range: it must be above 0 and at most {max_rate}"),
                format!("use a rate above 0, at most {max_rate} (default {default_rate})"),
            );
            default_rate
        }
    };
    let (d, r) = bounds::PROGRESS_INTERVAL_MS;
    let progress = v.number(
        &p.key("progress_interval_ms"),
        raw.progress_interval_ms,
        d,
        r,
    );
    BulkConfig {
        concurrency: usize::try_from(concurrency).unwrap_or(1),
        rate_per_second,
        progress_interval: Duration::from_millis(progress),
    }
}

/// `jumpcloud.org_id` and `[jumpcloud.tenants]`, validated first: guilds and teams refer to them.
fn tenants(
    v: &mut Validator<'_>,
    raw: Option<&crate::raw::RawJumpCloud>,
) -> (Option<OrgId>, BTreeMap<String, OrgId>) {
    let p = KeyPath::root().key("jumpcloud");
    let Some(raw) = raw else {
        return (None, BTreeMap::new());
    };
    let fix = "copy the 24-character organisation id from the JumpCloud console (Settings → Organization Profile)";
    let default_org = raw
        .org_id
        .as_deref()
        .and_then(|id| v.parse::<OrgId>(&p.key("org_id"), id, fix));
    let mut tenants = BTreeMap::new();
    for (name, id) in &raw.tenants {
        let path = p.key("tenants").key(name);
        if name == DEFAULT_TENANT {
            v.err(
                ErrorKind::Conflict,
                &path,
                "\"default\" is reserved: it names jumpcloud.org_id",
                "set jumpcloud.org_id instead, or give this tenant another name",
            );
            continue;
        }
        if !valid_name(name) {
            v.err(
                ErrorKind::InvalidValue,
                &path,
                format!("{:?} is not a valid tenant name", shown(name)),
                "use lowercase letters, digits, '-' and '_', starting with a letter",
            );
            continue;
        }
        if let Some(org) = v.parse::<OrgId>(&path, id, fix) {
            tenants.insert(name.clone(), org);
        }
    }
    (default_org, tenants)
}

/// A guild's or team's tenant: `default`, a tenant name, or an org id.
fn resolve_tenant(
    value: &str,
    default_org: Option<&OrgId>,
    tenants: &BTreeMap<String, OrgId>,
) -> Option<Tenant> {
    if value == DEFAULT_TENANT {
        return Some(Tenant {
            name: DEFAULT_TENANT.to_owned(),
            org_id: default_org.cloned(),
        });
    }
    if let Some(org) = tenants.get(value) {
        return Some(Tenant {
            name: value.to_owned(),
            org_id: Some(org.clone()),
        });
    }
    value.parse::<OrgId>().ok().map(|org| Tenant {
        name: value.to_owned(),
        org_id: Some(org),
    })
}

fn unknown_tenant(v: &mut Validator<'_>, path: &KeyPath, value: &str) {
    v.err(
        ErrorKind::UnknownTenant,
        path,
        format!(
            "{:?} is neither \"default\", a tenant of [jumpcloud.tenants] nor an organisation id",
            shown(value)
        ),
        "define the tenant under [jumpcloud.tenants], write \"default\", or give the 24-character organisation id",
    );
}

/// Group and tenant names: a lowercase letter, then lowercase letters, digits, `-`, `_`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn jumpcloud(
    v: &mut Validator<'_>,
    raw: &crate::raw::RawJumpCloud,
    org_id: Option<OrgId>,
    tenants: BTreeMap<String, OrgId>,
) -> Option<JumpCloudConfig> {
    let p = KeyPath::root().key("jumpcloud");
    let base_url = match (&raw.region, &raw.base_url) {
        (Some(_), Some(_)) => {
            v.err(
                ErrorKind::Conflict,
                &p.key("base_url"),
                "both region and base_url are set",
                "keep region (us, eu or in) for JumpCloud's own hosts, or base_url for another host",
            );
            None
        }
        (None, Some(url)) => v.url(&p.key("base_url"), url),
        (region, None) => {
            let region = match region.as_deref() {
                None | Some("us") => Some(Region::Us),
                Some("eu") => Some(Region::Eu),
                Some("in") => Some(Region::India),
                Some(other) => {
                    v.err(
                        ErrorKind::InvalidValue,
                        &p.key("region"),
                        format!("unknown region {:?}", shown(other)),
                        "write region = \"us\", \"eu\" or \"in\" (the console host your organisation uses)",
                    );
                    None
                }
            };
            region.and_then(|r| Url::parse(r.base_url()).ok())
        }
    };
    let api_key = v.secret(&p.key("api_key"), raw.api_key.as_ref());
    let (timeout, connect_timeout) = timeouts(
        v,
        &p,
        raw.timeout_seconds,
        raw.connect_timeout_seconds,
        (30, 10),
    );
    Some(JumpCloudConfig {
        base_url: base_url?,
        api_key: api_key?,
        org_id,
        tenants,
        timeout,
        connect_timeout,
    })
}

/// A section's `timeout_seconds` and `connect_timeout_seconds`, each within its bounds, or the
/// section's `(timeout, connect_timeout)` defaults.
fn timeouts(
    v: &mut Validator<'_>,
    p: &KeyPath,
    timeout: Option<u64>,
    connect_timeout: Option<u64>,
    (default_timeout, default_connect_timeout): (u64, u64),
) -> (Duration, Duration) {
    let timeout = v.seconds(
        &p.key("timeout_seconds"),
        timeout,
        default_timeout,
        bounds::TIMEOUT_SECONDS,
    );
    let connect_timeout = v.seconds(
        &p.key("connect_timeout_seconds"),
        connect_timeout,
        default_connect_timeout,
        bounds::CONNECT_TIMEOUT_SECONDS,
    );
    (timeout, connect_timeout)
}

fn identity_manager(
    v: &mut Validator<'_>,
    raw: &RawIdentityManager,
) -> Option<IdentityManagerConfig> {
    let p = KeyPath::root().key("identity_manager");
    let application_uri = match &raw.application_uri {
        None => {
            v.missing(
                &p.key("application_uri"),
                "add application_uri = \"https://usercube.example.com\" (the server's ApplicationUri)",
            );
            None
        }
        Some(uri) => v.url(&p.key("application_uri"), uri),
    };
    let client_id = match &raw.client_id {
        None => {
            v.missing(
                &p.key("client_id"),
                "add client_id = \"Job\" (the Identifier of an OpenIdClient of the server)",
            );
            None
        }
        Some(id) => v.word(&p.key("client_id"), id, "client id"),
    };
    let client_secret = v.secret(&p.key("client_secret"), raw.client_secret.as_ref());
    let client_domain = match &raw.client_domain {
        None => Some(None),
        Some(d) => v
            .word(&p.key("client_domain"), d, "client domain")
            .map(Some),
    };
    let (timeout, connect_timeout) = timeouts(
        v,
        &p,
        raw.timeout_seconds,
        raw.connect_timeout_seconds,
        (30, 5),
    );
    let mail = match &raw.mail {
        None => {
            v.missing(
                &p.key("mail"),
                "add [identity_manager.mail] with from_address and [identity_manager.mail.smtp] or pickup_directory",
            );
            None
        }
        Some(mail) => mail_settings(v, &p.key("mail"), mail),
    };
    Some(IdentityManagerConfig {
        application_uri: application_uri?,
        client_id: client_id?,
        client_secret: client_secret?,
        client_domain: client_domain?,
        timeout,
        connect_timeout,
        mail: mail?,
    })
}

fn email(v: &mut Validator<'_>, path: &KeyPath, value: &str) -> Option<Email> {
    v.parse::<Email>(
        path,
        value,
        "write one plain address such as it@acme.example",
    )
}

fn mail_settings(v: &mut Validator<'_>, p: &KeyPath, raw: &RawMail) -> Option<MailSettings> {
    let transport = match (&raw.smtp, &raw.pickup_directory) {
        (Some(_), Some(_)) => {
            v.err(
                ErrorKind::Conflict,
                &p.key("pickup_directory"),
                "both [identity_manager.mail.smtp] and pickup_directory are set",
                "keep one: an SMTP relay or a pickup directory",
            );
            None
        }
        (None, None) => {
            v.missing(
                &p.key("smtp"),
                "add [identity_manager.mail.smtp] with host and port, or pickup_directory = \"/var/spool/passdesk\"",
            );
            None
        }
        (None, Some(dir)) => v
            .file_path(&p.key("pickup_directory"), dir)
            .map(Transport::pickup_directory),
        (Some(smtp), None) => {
            let s = p.key("smtp");
            let host = match &smtp.host {
                None => {
                    v.missing(&s.key("host"), "add host = \"smtp.acme.example\"");
                    None
                }
                Some(h) => v.word(&s.key("host"), h, "host"),
            };
            let secure = match smtp.secure.as_deref() {
                None | Some("auto") => Some(SecureSocketOption::Auto),
                Some("none") => Some(SecureSocketOption::None),
                Some("ssl_on_connect") => Some(SecureSocketOption::SslOnConnect),
                Some("start_tls") => Some(SecureSocketOption::StartTls),
                Some("start_tls_when_available") => Some(SecureSocketOption::StartTlsWhenAvailable),
                Some(other) => {
                    v.err(
                        ErrorKind::InvalidValue,
                        &s.key("secure"),
                        format!("unknown option {:?}", shown(other)),
                        "write none, auto, ssl_on_connect, start_tls or start_tls_when_available",
                    );
                    None
                }
            };
            let password = match (&smtp.username, &smtp.password) {
                (Some(_), None) => {
                    v.missing(
                        &s.key("password"),
                        "add password = { env = \"PASSDESK_SMTP_PASSWORD\" }, or remove username",
                    );
                    None
                }
                (None, Some(_)) => {
                    v.missing(&s.key("username"), "add username, or remove password");
                    None
                }
                (Some(_), Some(pw)) => v.secret(&s.key("password"), Some(pw)).map(Some),
                (None, None) => Some(None),
            };
            let username = match &smtp.username {
                None => Some(None),
                Some(u) => v.word(&s.key("username"), u, "user name").map(Some),
            };
            match (host, secure, username, password) {
                (Some(host), Some(secure), Some(username), Some(password)) => {
                    Some(Transport::Smtp {
                        host,
                        port: smtp.port.unwrap_or(0),
                        secure,
                        username,
                        password,
                    })
                }
                _ => None,
            }
        }
    };
    let from = match &raw.from_address {
        None => {
            v.missing(
                &p.key("from_address"),
                "add from_address = \"no-reply@acme.example\"",
            );
            None
        }
        Some(a) => email(v, &p.key("from_address"), a),
    };
    let mut allowed_domains = Vec::new();
    for (i, domain) in raw.allowed_domains.iter().enumerate() {
        let bare = domain.strip_prefix('@').unwrap_or(domain);
        if format!("x@{bare}").parse::<Email>().is_ok() {
            allowed_domains.push(bare.to_ascii_lowercase());
        } else {
            v.err(
                ErrorKind::InvalidValue,
                &p.key("allowed_domains").index(i),
                format!("{:?} is not a mail domain", shown(domain)),
                "write a domain such as acme.example (each subdomain is listed on its own)",
            );
        }
    }
    let catch_all = raw
        .catch_all_address
        .as_deref()
        .map(|a| email(v, &p.key("catch_all_address"), a));
    let catch_all_cc = raw
        .catch_all_cc_address
        .as_deref()
        .map(|a| email(v, &p.key("catch_all_cc_address"), a));
    let mut cultures: Vec<Culture> = Vec::new();
    let raw_cultures = raw
        .cultures
        .clone()
        .unwrap_or_else(|| vec!["en".to_owned()]);
    if raw_cultures.is_empty() {
        v.err(
            ErrorKind::InvalidValue,
            &p.key("cultures"),
            "no culture is listed",
            "list at least one: cultures = [\"en\"] or [\"en\", \"fr\"]",
        );
    }
    for (i, c) in raw_cultures.iter().enumerate() {
        let path = p.key("cultures").index(i);
        if let Some(culture) = v.parse::<Culture>(&path, c, "write \"en\" or \"fr\"") {
            if cultures.contains(&culture) {
                v.err(
                    ErrorKind::Conflict,
                    &path,
                    format!("culture {culture} is listed twice"),
                    "list each culture once, the mail's main language first",
                );
            } else {
                cultures.push(culture);
            }
        }
    }
    let t = p.key("templates");
    let mut templates = TemplateOverrides::default();
    for (key, value, slot) in [
        ("subject", &raw.templates.subject, &mut templates.subject),
        ("text", &raw.templates.text, &mut templates.text),
        ("html", &raw.templates.html, &mut templates.html),
    ] {
        if let Some(file) = value {
            *slot = v.file_path(&t.key(key), file).map(TemplateSource::File);
        }
    }
    let has_templates =
        templates.subject.is_some() || templates.text.is_some() || templates.html.is_some();
    let (timeout, connect_timeout) = timeouts(
        v,
        p,
        raw.timeout_seconds,
        raw.connect_timeout_seconds,
        (60, 10),
    );

    let mut settings = MailSettings::new(transport?, from?);
    settings.allowed_domains = allowed_domains;
    settings.catch_all_address = catch_all.map_or(Some(None), |a| a.map(Some))?;
    settings.catch_all_cc_address = catch_all_cc.map_or(Some(None), |a| a.map(Some))?;
    settings.enabled = raw.enabled.unwrap_or(true);
    settings.cultures = cultures;
    settings.templates = has_templates.then_some(templates);
    settings.timeout = timeout;
    settings.connect_timeout = connect_timeout;
    Some(settings)
}

fn discord(
    v: &mut Validator<'_>,
    raw: &RawDiscord,
    tenant_of: &dyn Fn(&str) -> Option<Tenant>,
) -> Option<DiscordConfig> {
    let p = KeyPath::root().key("discord");
    let how = "turn on Developer Mode in Discord, then right-click the item and Copy ID";
    let application_id = match &raw.application_id {
        None => {
            v.missing(
                &p.key("application_id"),
                "add application_id = \"…\" (Developer Portal → your application → General Information)",
            );
            None
        }
        Some(id) => v.parse::<Snowflake>(&p.key("application_id"), id, how),
    };
    let mode = match raw.mode.as_deref() {
        None | Some("gateway") => Some(DiscordMode::Gateway),
        Some("http") => Some(DiscordMode::Http),
        Some(other) => {
            v.err(
                ErrorKind::InvalidValue,
                &p.key("mode"),
                format!("unknown mode {:?}", shown(other)),
                "write mode = \"gateway\" (a websocket connection) or \"http\" (an interactions endpoint)",
            );
            None
        }
    };
    let key_fix = "copy Public Key from the application's General Information page";
    let public_key = match (&raw.public_key, mode) {
        (None, Some(DiscordMode::Http)) => {
            v.missing(
                &p.key("public_key"),
                format!("mode = \"http\" verifies every request with it: {key_fix}"),
            );
            None
        }
        (None, _) => Some(None),
        (Some(k), _) => v
            .parse::<DiscordPublicKey>(&p.key("public_key"), k, key_fix)
            .map(Some),
    };
    let bot_token = v.secret(&p.key("bot_token"), raw.bot_token.as_ref());
    let guilds = tenant_map::<Snowflake>(
        v,
        &p.key("guilds"),
        &raw.guilds,
        how,
        tenant_of,
        (
            "no guild is listed, so Passdesk would serve no Discord server",
            "add [discord.guilds] with \"<guild id>\" = \"default\" (or a tenant name) for each server",
        ),
    );
    let approvals_channel = optional::<Snowflake>(
        v,
        &p.key("approvals_channel"),
        raw.approvals_channel.as_deref(),
        how,
    );
    let audit_channel = optional::<Snowflake>(
        v,
        &p.key("audit_channel"),
        raw.audit_channel.as_deref(),
        how,
    );
    let api_base_url = optional_url(v, &p.key("api_base_url"), raw.api_base_url.as_deref());
    Some(DiscordConfig {
        application_id: application_id?,
        public_key: public_key?,
        bot_token: bot_token?,
        mode: mode?,
        guilds,
        approvals_channel: approvals_channel?,
        audit_channel: audit_channel?,
        api_base_url: api_base_url?,
    })
}

/// An optional id: `Some(None)` when absent, `None` when invalid.
fn optional<T>(
    v: &mut Validator<'_>,
    path: &KeyPath,
    value: Option<&str>,
    fix: &str,
) -> Option<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    match value {
        None => Some(None),
        Some(s) => v.parse::<T>(path, s, fix).map(Some),
    }
}

/// An optional URL: `Some(None)` when absent, `None` when invalid.
fn optional_url(v: &mut Validator<'_>, path: &KeyPath, value: Option<&str>) -> Option<Option<Url>> {
    match value {
        None => Some(None),
        Some(u) => v.url(path, u).map(Some),
    }
}

/// A platform's `"<id>" = "<tenant>"` table (`[discord.guilds]`, `[slack.teams]`): keys parsed
/// as `K`, values resolved by `tenant_of`. An empty table (the platform would serve nobody) is
/// reported with the given problem and fix.
fn tenant_map<K>(
    v: &mut Validator<'_>,
    path: &KeyPath,
    raw: &BTreeMap<String, String>,
    how: &str,
    tenant_of: &dyn Fn(&str) -> Option<Tenant>,
    (empty_problem, empty_fix): (&str, &str),
) -> BTreeMap<K, Tenant>
where
    K: FromStr + Ord,
    K::Err: Display,
{
    if raw.is_empty() {
        v.err(ErrorKind::Missing, path, empty_problem, empty_fix);
    }
    let mut out = BTreeMap::new();
    for (key, tenant) in raw {
        let entry = path.key(key);
        let id = v.parse::<K>(&entry, key, how);
        match tenant_of(tenant) {
            Some(t) => {
                if let Some(id) = id {
                    out.insert(id, t);
                }
            }
            None => unknown_tenant(v, &entry, tenant),
        }
    }
    out
}

fn slack(
    v: &mut Validator<'_>,
    raw: &RawSlack,
    tenant_of: &dyn Fn(&str) -> Option<Tenant>,
) -> Option<SlackConfig> {
    let p = KeyPath::root().key("slack");
    let how = "copy the id from Slack (channel or workspace details, or the app's Basic Information page)";
    let signing_secret = v.secret(&p.key("signing_secret"), raw.signing_secret.as_ref());
    let bot_token = v.secret(&p.key("bot_token"), raw.bot_token.as_ref());
    let app_id = optional::<SlackAppId>(v, &p.key("app_id"), raw.app_id.as_deref(), how);
    let teams = tenant_map::<SlackTeamId>(
        v,
        &p.key("teams"),
        &raw.teams,
        how,
        tenant_of,
        (
            "no workspace is listed, so Passdesk would serve no Slack workspace",
            "add [slack.teams] with \"<team id>\" = \"default\" (or a tenant name) for each workspace",
        ),
    );
    let approvals_channel = optional::<SlackChannelId>(
        v,
        &p.key("approvals_channel"),
        raw.approvals_channel.as_deref(),
        how,
    );
    let audit_channel = optional::<SlackChannelId>(
        v,
        &p.key("audit_channel"),
        raw.audit_channel.as_deref(),
        how,
    );
    let api_base_url = optional_url(v, &p.key("api_base_url"), raw.api_base_url.as_deref());
    Some(SlackConfig {
        signing_secret: signing_secret?,
        bot_token: bot_token?,
        app_id: app_id?,
        teams,
        approvals_channel: approvals_channel?,
        audit_channel: audit_channel?,
        api_base_url: api_base_url?,
    })
}

fn groups(v: &mut Validator<'_>, raw: &BTreeMap<String, RawGroup>) -> BTreeMap<String, Group> {
    let p = KeyPath::root().key("groups");
    let discord_how = "use ids, not names: turn on Developer Mode in Discord, right-click the role or user, Copy ID";
    let slack_how =
        "use ids, not names: open the member's profile or the user group in Slack and copy its id";
    let mut out = BTreeMap::new();
    for (name, g) in raw {
        let gp = p.key(name);
        if !valid_name(name) {
            v.err(
                ErrorKind::InvalidValue,
                &gp,
                format!("{:?} is not a valid group name", shown(name)),
                "use lowercase letters, digits, '-' and '_', starting with a letter (e.g. helpdesk)",
            );
        }
        let empty = g.discord_roles.is_empty()
            && g.discord_users.is_empty()
            && g.slack_usergroups.is_empty()
            && g.slack_users.is_empty()
            && g.cli_users.is_empty();
        if empty {
            v.err(
                ErrorKind::EmptyGroup,
                &gp,
                format!("group {name} has no members"),
                "add discord_roles, discord_users, slack_usergroups, slack_users or cli_users, or remove the group",
            );
        }
        let group = Group {
            name: name.clone(),
            discord_roles: v.parse_list(&gp.key("discord_roles"), &g.discord_roles, discord_how),
            discord_users: v.parse_list(&gp.key("discord_users"), &g.discord_users, discord_how),
            slack_usergroups: v.parse_list::<SlackUserGroupId>(
                &gp.key("slack_usergroups"),
                &g.slack_usergroups,
                slack_how,
            ),
            slack_users: v.parse_list::<SlackUserId>(
                &gp.key("slack_users"),
                &g.slack_users,
                slack_how,
            ),
            cli_users: v.parse_list::<CliUser>(
                &gp.key("cli_users"),
                &g.cli_users,
                "use the login name shown by `whoami`",
            ),
        };
        out.insert(name.clone(), group);
    }
    out
}

/// Group names of a list, each checked against `[groups]`, duplicates dropped.
fn group_refs(
    v: &mut Validator<'_>,
    path: &KeyPath,
    names: &[String],
    known: &BTreeSet<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if !known.contains(name.as_str()) {
            let defined = if known.is_empty() {
                "none is defined".to_owned()
            } else {
                format!(
                    "defined: {}",
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                )
            };
            v.err(
                ErrorKind::UnknownGroup,
                &path.index(i),
                format!("unknown group {:?} ({defined})", shown(name)),
                format!("define [groups.{}] or correct the name", shown(name)),
            );
        } else if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

fn policies(
    v: &mut Validator<'_>,
    raw: &RawConfig,
    known: &BTreeSet<&str>,
    limits: &Limits,
) -> Policies {
    let mut policies = Policies::default();
    // Platforms on which some command needs the approvals channel.
    let mut approvals_on_discord = false;
    let mut approvals_on_slack = false;
    for command in CommandName::ALL {
        let raw_policy = match command {
            CommandName::Reset => raw.policy.reset.as_ref(),
            CommandName::Expire => raw.policy.expire.as_ref(),
            CommandName::Notify => raw.policy.notify.as_ref(),
        };
        let Some(rp) = raw_policy else { continue };
        let p = KeyPath::root().key("policy").key(command.as_str());
        let policy = policy(v, command, &p, rp, known, limits);
        let needs_section = match command {
            CommandName::Reset | CommandName::Expire => {
                (raw.jumpcloud.is_none()).then_some(("jumpcloud", "add [jumpcloud] with region and api_key"))
            }
            CommandName::Notify => (raw.identity_manager.is_none()).then_some((
                "identity_manager",
                "add [identity_manager] with application_uri, client_id, client_secret and [identity_manager.mail]",
            )),
        };
        if let Some((section, fix)) = needs_section {
            v.err(
                ErrorKind::Missing,
                &KeyPath::root().key(section),
                format!("[{section}] is missing, and [policy.{command}] enables {command}, which needs it"),
                format!("{fix}, or remove [policy.{command}] to disable the command"),
            );
        }
        if let Some(policy) = policy {
            if policy.approval != ApprovalRule::None {
                approvals_on_discord |= policy.channels.discord != ChannelRule::Disabled;
                approvals_on_slack |= policy.channels.slack != ChannelRule::Disabled;
            }
            match command {
                CommandName::Reset => policies.reset = Some(policy),
                CommandName::Expire => policies.expire = Some(policy),
                CommandName::Notify => policies.notify = Some(policy),
            }
        }
    }
    for (platform, needed, raw_channel) in [
        (
            "discord",
            approvals_on_discord,
            raw.discord.as_ref().map(|d| &d.approvals_channel),
        ),
        (
            "slack",
            approvals_on_slack,
            raw.slack.as_ref().map(|s| &s.approvals_channel),
        ),
    ] {
        if needed && matches!(raw_channel, Some(None)) {
            v.err(
                ErrorKind::Missing,
                &KeyPath::root().key(platform).key("approvals_channel"),
                format!(
                    "a policy asks for approval on {platform}, but no approvals channel is set"
                ),
                "add approvals_channel = \"<channel id>\" (a channel the approvers can read)",
            );
        }
    }
    policies
}

fn policy(
    v: &mut Validator<'_>,
    command: CommandName,
    p: &KeyPath,
    raw: &RawPolicy,
    known: &BTreeSet<&str>,
    limits: &Limits,
) -> Option<CommandPolicy> {
    let groups = match &raw.groups {
        None => {
            v.missing(
                &p.key("groups"),
                format!(
                    "add groups = [\"helpdesk\"], or remove [policy.{command}] to disable {command}"
                ),
            );
            None
        }
        Some(list) if list.is_empty() => {
            v.err(
                ErrorKind::InvalidValue,
                &p.key("groups"),
                "groups = [] allows nobody",
                format!("name the groups that may run {command}, or remove [policy.{command}] to disable it"),
            );
            None
        }
        Some(list) => Some(group_refs(v, &p.key("groups"), list, known)),
    };
    let discord_channels = channel_rule::<Snowflake>(
        v,
        &p.key("channels").key("discord"),
        raw.channels.discord.as_deref(),
    );
    let slack_channels = channel_rule::<SlackChannelId>(
        v,
        &p.key("channels").key("slack"),
        raw.channels.slack.as_deref(),
    );
    let ap = p.key("approval");
    let approval = match raw.approval.as_deref() {
        None => {
            v.missing(
                &ap,
                "add approval = \"none\", \"bulk\" (with bulk_threshold) or \"always\"",
            );
            None
        }
        Some("none") => Some(ApprovalRule::None),
        Some("always") => Some(ApprovalRule::Always),
        Some("bulk") => match raw.bulk_threshold {
            None => {
                v.missing(
                    &p.key("bulk_threshold"),
                    "add bulk_threshold = 10 (requests naming more targets need approval)",
                );
                None
            }
            Some(0) => {
                v.err(
                    ErrorKind::OutOfRange,
                    &p.key("bulk_threshold"),
                    "bulk_threshold = 0 asks approval for every request",
                    "write approval = \"always\" instead, or a threshold of 1 or more",
                );
                None
            }
            Some(t) if t >= u64::from(limits.max_targets) => {
                v.err(
                    ErrorKind::OutOfRange,
                    &p.key("bulk_threshold"),
                    format!(
                        "bulk_threshold = {t} is not below limits.max_targets = {}, so approval would never apply",
                        limits.max_targets
                    ),
                    format!("use a threshold from 1 to {}", limits.max_targets.saturating_sub(1)),
                );
                None
            }
            Some(t) => u32::try_from(t)
                .ok()
                .map(|threshold| ApprovalRule::Bulk { threshold }),
        },
        Some(other) => {
            v.err(
                ErrorKind::InvalidValue,
                &ap,
                format!("unknown approval rule {:?}", shown(other)),
                "write \"none\", \"bulk\" (with bulk_threshold) or \"always\"",
            );
            None
        }
    };
    if raw.bulk_threshold.is_some() && raw.approval.as_deref() != Some("bulk") {
        v.err(
            ErrorKind::Conflict,
            &p.key("bulk_threshold"),
            "bulk_threshold only applies with approval = \"bulk\"",
            "remove bulk_threshold, or set approval = \"bulk\"",
        );
    }
    let approver_groups = group_refs(v, &p.key("approver_groups"), &raw.approver_groups, known);
    match approval {
        Some(ApprovalRule::None) if !raw.approver_groups.is_empty() => v.err(
            ErrorKind::Conflict,
            &p.key("approver_groups"),
            "approver_groups is set but approval = \"none\" never asks them",
            "set approval = \"bulk\" or \"always\", or remove approver_groups",
        ),
        Some(ApprovalRule::Bulk { .. } | ApprovalRule::Always)
            if raw.approver_groups.is_empty() =>
        {
            v.err(
                ErrorKind::MissingApprovers,
                &ap,
                format!("{command} needs approval but no approver group is named, so no request could ever be approved"),
                "add approver_groups = [\"approver\"] (a group of [groups])",
            );
        }
        _ => {}
    }
    Some(CommandPolicy {
        command,
        groups: groups?,
        channels: ChannelPolicy {
            discord: discord_channels?,
            slack: slack_channels?,
        },
        approval: approval?,
        approver_groups,
        allow_self: raw.allow_self.unwrap_or(false),
    })
}

fn channel_rule<T>(
    v: &mut Validator<'_>,
    path: &KeyPath,
    raw: Option<&[String]>,
) -> Option<ChannelRule<T>>
where
    T: FromStr + PartialEq,
    T::Err: Display,
{
    let Some(list) = raw else {
        return Some(ChannelRule::Disabled);
    };
    if list.is_empty() {
        v.err(
            ErrorKind::InvalidValue,
            path,
            "an empty channel list is ambiguous",
            "list the channel ids, write [\"*\"] to allow every channel, or remove the key to refuse the command on this platform",
        );
        return None;
    }
    if list.iter().any(|c| c == ANY_CHANNEL) {
        if list.len() > 1 {
            v.err(
                ErrorKind::Conflict,
                path,
                "\"*\" allows every channel, so the other entries have no effect",
                "write either [\"*\"] or a list of channel ids",
            );
            return None;
        }
        return Some(ChannelRule::Any);
    }
    let before = v.errors.len();
    let ids = v.parse_list::<T>(
        path,
        list,
        "use channel ids (not names), or [\"*\"] for every channel",
    );
    (v.errors.len() == before).then_some(ChannelRule::Only(ids))
}

fn targets(v: &mut Validator<'_>, raw: &RawTargets, known: &BTreeSet<&str>) -> TargetRules {
    let p = KeyPath::root().key("targets");
    TargetRules {
        protected_groups: v.parse_list::<GroupName>(
            &p.key("protected_groups"),
            &raw.protected_groups,
            "write the JumpCloud group's name as shown in the console",
        ),
        protected_usernames: v.parse_list::<UsernamePattern>(
            &p.key("protected_usernames"),
            &raw.protected_usernames,
            "write a username, or a pattern with * and ?, such as admin.*",
        ),
        protected_override_groups: group_refs(
            v,
            &p.key("protected_override_groups"),
            &raw.protected_override_groups,
            known,
        ),
    }
}

fn accounts(v: &mut Validator<'_>, raw: &RawAccounts) -> Accounts {
    let p = KeyPath::root().key("accounts");
    Accounts {
        discord: account_map::<Snowflake>(
            v,
            &p.key("discord"),
            &raw.discord,
            "key each entry by the user's id, not their name: turn on Developer Mode in Discord, \
             right-click the user, Copy User ID",
        ),
        slack: account_map::<SlackUserId>(
            v,
            &p.key("slack"),
            &raw.slack,
            "key each entry by the member's id (U… or W…): open their profile in Slack, then \
             ⋮ → Copy member ID",
        ),
        cli: account_map::<CliUser>(
            v,
            &p.key("cli"),
            &raw.cli,
            "key each entry by the login name shown by `whoami`",
        ),
    }
}

/// One platform's `id = "username"` table: keys parsed as `K`, values as JumpCloud usernames.
fn account_map<K>(
    v: &mut Validator<'_>,
    path: &KeyPath,
    raw: &BTreeMap<String, String>,
    key_fix: &str,
) -> BTreeMap<K, Username>
where
    K: FromStr + Ord + Display,
    K::Err: Display,
{
    // Each id with its username and the key it was written as.
    let mut out: BTreeMap<K, (Username, &str)> = BTreeMap::new();
    for (key, value) in raw {
        let entry = path.key(key);
        let id = v.parse::<K>(&entry, key, key_fix);
        let username = match value.parse::<Username>() {
            Ok(username) => Some(username),
            Err(e) => {
                let fix = if value.contains('@') {
                    "write the JumpCloud username (Users → the user → Username), not the e-mail \
                     address"
                } else {
                    "write the account's JumpCloud username as the console shows it (Users → the \
                     user → Username), e.g. \"jane.doe\""
                };
                v.err(
                    ErrorKind::InvalidValue,
                    &entry,
                    format!(
                        "{:?} is not a valid JumpCloud username: {}",
                        shown(value),
                        e.reason()
                    ),
                    fix,
                );
                None
            }
        };
        let (Some(id), Some(username)) = (id, username) else {
            continue;
        };
        if let Some((_, first)) = out.get(&id) {
            // Only Discord ids can collide: "0112…" and "112…" are the same number.
            v.err(
                ErrorKind::Conflict,
                &entry,
                format!("this is the same id as {:?}", shown(first)),
                "keep one entry per id, written without leading zeros",
            );
            continue;
        }
        out.insert(id, (username, key.as_str()));
    }
    out.into_iter()
        .map(|(id, (username, _))| (id, username))
        .collect()
}
