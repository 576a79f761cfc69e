//! The offline demo environment: the JumpCloud and Identity Manager simulators on `127.0.0.1`
//! (random ports) with seed data a helpdesk can play with, and a pickup directory for the
//! password-notification mails. `passdesk demo` starts one with [`DemoEnvironment::start`],
//! points its clients at it, and answers `/sent` with [`DemoEnvironment::sent`].
//!
//! Everything is deterministic except creation dates, which are relative to the start
//! ("6 hours ago"), so the "created in the last N days" examples always find the same users.
//!
//! # JumpCloud
//!
//! Organisation **Acme** `5a1b2c3d4e5f6a7b8c9d0e1f` ([`DemoEnvironment::org_id`]), API key
//! `sim-jumpcloud-api-key`, bound to Acme only. 43 users (`<username>@example.com`):
//!
//! | username | state | created | groups (besides `All Staff`) |
//! |---|---|---|---|
//! | `jcuser.one` | pending | 2 days ago | NewUsers |
//! | `new.hire1`, `new.hire2` | pending | 1 day ago | NewUsers |
//! | `maria.garcia` | pending | 3 days ago | NewUsers |
//! | `li.wei` | pending | 30 days ago | |
//! | `jane.doe` | active (has an alternate email) | 400 days ago | IT |
//! | `john.smith` | active, locked | 300 days ago | IT |
//! | `priya.patel` | active, password expired | 200 days ago | |
//! | `omar.haddad` | active, password never expires | 100 days ago | Admins |
//! | `sam.taylor` | suspended | 5 days ago | NewUsers |
//! | `alex.morgan` | staged | 4 days ago | |
//! | `ana.silva` | pending | 6 hours ago | NewUsers |
//! | `lucas.martin` | pending | 20 hours ago | NewUsers |
//! | `fatima.zahra` | pending | 30 hours ago | NewUsers |
//! | `grace.kim` | staged | 40 hours ago | NewUsers |
//! | `nina.berg` | active | 3 days ago | NewUsers |
//! | `kenji.tanaka` | pending | 4 days ago | NewUsers, IT |
//! | `sofia.rossi` | pending | 5 days ago | NewUsers |
//! | `david.cohen` | pending | 6 days ago | NewUsers |
//! | `oliver.brown` | suspended | 6 days ago | NewUsers |
//! | `tom.becker` | active | 8 days ago | NewUsers |
//! | `amara.okafor` | pending | 9 days ago | NewUsers |
//! | `ivan.petrov` | pending, locked | 10 days ago | NewUsers |
//! | `emma.wilson` | active | 11 days ago | NewUsers |
//! | `mateo.lopez` | pending | 12 days ago | NewUsers |
//! | `raj.kumar` | active | 14 days ago | NewUsers |
//! | `chloe.dubois` | pending | 15 days ago | NewUsers |
//! | `yuki.sato` | active, locked | 18 days ago | NewUsers |
//! | `lena.schmidt` | active | 20 days ago | NewUsers |
//! | `samuel.osei` | active, password expired | 21 days ago | NewUsers |
//! | `diego.fernandez` | pending | 25 days ago | NewUsers |
//! | `hannah.lee` | pending | 28 days ago | NewUsers |
//! | `leila.haddad` | active | 29 days ago | NewUsers |
//! | `marco.bianchi` | active | 500 days ago | IT |
//! | `aisha.khan` | active | 700 days ago | IT, Admins |
//! | `helen.clarke` | active, password never expires | 900 days ago | Admins |
//! | `peter.novak` | active, locked | 250 days ago | IT |
//! | `laura.jensen` | active, password expired | 150 days ago | |
//! | `carlos.mendes` | suspended | 365 days ago | |
//! | `piotr.kowalski` | active | 60 days ago | Contractors (not in All Staff) |
//! | `julia.weber` | pending | 5 days ago | Contractors (not in All Staff) |
//! | `ahmed.nasser` | suspended | 90 days ago | Contractors (not in All Staff) |
//! | `rosa.delgado` | active, locked | 45 days ago | Contractors (not in All Staff) |
//!
//! "Pending" users have not set a password (`activated: false`): they get an activation mail;
//! active ones get a reset mail; suspended and staged users are refused (`409`); a locked user
//! still gets a mail. Staged users are `activated: false` too, so "users not activated" lists
//! them and then shows them skipped.
//!
//! | group | members |
//! |---|---|
//! | `NewUsers` | 27: this month's starters, mostly pending, some active, two suspended, one staged |
//! | `IT` | 6 |
//! | `Admins` | 3: `omar.haddad`, `aisha.khan`, `helen.clarke` (to be protected by the demo policy) |
//! | `Contractors` | 4 |
//! | `All Staff` | 39: everyone but the contractors |
//!
//! A second organisation, **Globex** `5a1b2c3d4e5f6a7b8c9d0e20` ([`SECOND_ORG_ID`], one user
//! `erik.larsen`), is not bound to the demo key: sending its id as `x-org-id` shows JumpCloud's
//! `404 organization not found`.
//!
//! # Identity Manager
//!
//! Client `Passdesk` ([`DemoEnvironment::im_client_id`]) with its secret
//! ([`DemoEnvironment::im_client_secret`]); the data is [`identity_manager::seed`]'s (its module
//! docs list every mapping). The ones to try:
//!
//! | assigned resource type | resource type mapping | outcome |
//! |---|---|---|
//! | 1000 | 10 | the vendor example: mails Grace Hopper (`grace.hopper@acme.example`, Ada Lovelace's manager) about Ada's new password, CC `it-security@acme.example` |
//! | 1014 | 14 | the settings have no notified-email binding: nobody to mail, the error is shown |
//! | 1001 | 10 | Alan Turing's manager has no mail address |
//! | 1000 | 99 | no such mapping |
//!
//! Allowed domains ([`DemoEnvironment::allowed_domains`]): `acme.example` (every seeded
//! address), `acme.admin` (the vendor's `--notification-cc admin@acme.admin`) and
//! `example.com` (the JumpCloud users); any other CC is refused.
//!
//! # Vendor examples
//!
//! | example | in the demo |
//! |---|---|
//! | `Send-JCPasswordReset -username jcuser.one` | one activation mail to `jcuser.one` |
//! | `Get-JCUserGroupMember -GroupName NewUsers \| Send-JCPasswordReset` | 27 members: activation, reset or skipped |
//! | `Get-JCUser -activated $false \| Send-JCPasswordReset` | 20 users not activated (pending and staged) |
//! | … created in the last 7 days | 13 (the staged `alex.morgan` and `grace.kim` among them) |
//! | … created in the last 2 days | 6: `new.hire1`, `new.hire2`, `ana.silva`, `lucas.martin`, `fatima.zahra`, `grace.kim` (`jcuser.one`, created exactly 2 days before the start, falls just outside) |
//! | `Invoke-JcSdkExpireSystemUserPassword -Id <id> -XOrgId 5a1b2c3d4e5f6a7b8c9d0e1f` | `200`: the key's own organisation |
//! | `--assigned-resource-type 1000 --resource-type-mapping 10 --notification-cc admin@acme.admin` | a `.eml` in the pickup directory to Grace Hopper, CC `it-security@acme.example` and `admin@acme.admin` |
//!
//! # `/sent`
//!
//! [`DemoEnvironment::sent`] gathers the JumpCloud simulator's record (activation and reset
//! mails, password expirations) and the `.eml` files of the pickup directory, of which it reads
//! the header block only (recipients, subject): the body, which holds the password, is never
//! read. [`SentSummary`]'s `Display` is the console's text.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use mailparse::{MailAddr, MailHeaderMap as _};
use tempfile::TempDir;

use crate::identity_manager::{self, IdentityManagerSim};
use crate::jumpcloud::{
    DEFAULT_API_KEY, DEFAULT_ORG_ID, Expiration, GroupSeed, JumpCloudSim, JumpCloudSimBuilder,
    Mail, MailKind, OrgSeed, SimError, UserSeed, default_seed,
};

/// The group of this month's starters (the vendor's `NewUsers` example), 27 members.
pub const GROUP_NEW_USERS: &str = "NewUsers";
/// The IT team.
pub const GROUP_IT: &str = "IT";
/// External contractors (not in [`GROUP_ALL_STAFF`]).
pub const GROUP_CONTRACTORS: &str = "Contractors";
/// Administrators: the group the demo policy protects.
pub const GROUP_ADMINS: &str = "Admins";
/// Every employee.
pub const GROUP_ALL_STAFF: &str = "All Staff";
/// Every group of the demo organisation.
pub const GROUPS: [&str; 5] = [
    GROUP_NEW_USERS,
    GROUP_IT,
    GROUP_CONTRACTORS,
    GROUP_ADMINS,
    GROUP_ALL_STAFF,
];

/// A second organisation ("Globex"), not bound to the demo key.
pub const SECOND_ORG_ID: &str = "5a1b2c3d4e5f6a7b8c9d0e20";
/// The sender of the password-notification mails.
pub const MAIL_FROM: &str = "passdesk-demo@acme.example";
/// The domains notification mails may go to: every address the seed holds, and the vendor
/// example's CC domain.
pub const ALLOWED_DOMAINS: [&str; 3] = ["acme.example", "acme.admin", "example.com"];

/// The longest subject [`SentSummary`] shows, in characters.
const MAX_SUBJECT_CHARS: usize = 200;
/// The largest header block read from a pickup file.
const MAX_HEADER_BYTES: u64 = 64 * 1024;

/// Why the demo environment could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The temporary pickup directory could not be created.
    #[error("could not create the demo pickup directory")]
    PickupDirectory(#[source] std::io::Error),
    /// The JumpCloud simulator refused its seed or could not open its socket.
    #[error("the jumpcloud simulator did not start")]
    JumpCloud(#[source] SimError),
    /// The Identity Manager simulator could not open its socket.
    #[error("the identity manager simulator did not start")]
    IdentityManager(#[source] std::io::Error),
}

/// The state a seeded user is in.
#[derive(Debug, Clone, Copy)]
enum Status {
    Pending,
    PendingLocked,
    Active,
    Locked,
    PasswordExpired,
    NeverExpires,
    Suspended,
    Staged,
}

/// When a seeded user was created, before the start.
#[derive(Debug, Clone, Copy)]
enum Age {
    Hours(i64),
    Days(i64),
}

/// A user the demo adds to [`default_seed`].
#[derive(Debug, Clone, Copy)]
struct DemoUser {
    username: &'static str,
    status: Status,
    age: Age,
    groups: &'static [&'static str],
}

const fn user(
    username: &'static str,
    status: Status,
    age: Age,
    groups: &'static [&'static str],
) -> DemoUser {
    DemoUser {
        username,
        status,
        age,
        groups,
    }
}

/// The users added to [`default_seed`]'s eleven (documented in the module's table).
const USERS: [DemoUser; 32] = {
    use Age::{Days, Hours};
    use Status::{
        Active, Locked, NeverExpires, PasswordExpired, Pending, PendingLocked, Staged, Suspended,
    };
    const NEW: &[&str] = &[GROUP_NEW_USERS];
    [
        // This month's starters.
        user("ana.silva", Pending, Hours(6), NEW),
        user("lucas.martin", Pending, Hours(20), NEW),
        user("fatima.zahra", Pending, Hours(30), NEW),
        user("grace.kim", Staged, Hours(40), NEW),
        user("nina.berg", Active, Days(3), NEW),
        user(
            "kenji.tanaka",
            Pending,
            Days(4),
            &[GROUP_NEW_USERS, GROUP_IT],
        ),
        user("sofia.rossi", Pending, Days(5), NEW),
        user("david.cohen", Pending, Days(6), NEW),
        user("oliver.brown", Suspended, Days(6), NEW),
        user("tom.becker", Active, Days(8), NEW),
        user("amara.okafor", Pending, Days(9), NEW),
        user("ivan.petrov", PendingLocked, Days(10), NEW),
        user("emma.wilson", Active, Days(11), NEW),
        user("mateo.lopez", Pending, Days(12), NEW),
        user("raj.kumar", Active, Days(14), NEW),
        user("chloe.dubois", Pending, Days(15), NEW),
        user("yuki.sato", Locked, Days(18), NEW),
        user("lena.schmidt", Active, Days(20), NEW),
        user("samuel.osei", PasswordExpired, Days(21), NEW),
        user("diego.fernandez", Pending, Days(25), NEW),
        user("hannah.lee", Pending, Days(28), NEW),
        user("leila.haddad", Active, Days(29), NEW),
        // Long-standing staff.
        user("marco.bianchi", Active, Days(500), &[GROUP_IT]),
        user("aisha.khan", Active, Days(700), &[GROUP_IT, GROUP_ADMINS]),
        user("helen.clarke", NeverExpires, Days(900), &[GROUP_ADMINS]),
        user("peter.novak", Locked, Days(250), &[GROUP_IT]),
        user("laura.jensen", PasswordExpired, Days(150), &[]),
        user("carlos.mendes", Suspended, Days(365), &[]),
        // Contractors.
        user("piotr.kowalski", Active, Days(60), &[GROUP_CONTRACTORS]),
        user("julia.weber", Pending, Days(5), &[GROUP_CONTRACTORS]),
        user("ahmed.nasser", Suspended, Days(90), &[GROUP_CONTRACTORS]),
        user("rosa.delgado", Locked, Days(45), &[GROUP_CONTRACTORS]),
    ]
};

/// Members added to groups of [`default_seed`]'s users (it already puts them in `NewUsers`,
/// `IT` and `All Staff`).
const DEFAULT_USERS_EXTRA_GROUPS: [(&str, &str); 1] = [("omar.haddad", GROUP_ADMINS)];

impl DemoUser {
    fn seed(self, now: DateTime<Utc>) -> UserSeed {
        let created = match self.age {
            Age::Hours(hours) => now - ChronoDuration::hours(hours),
            Age::Days(days) => now - ChronoDuration::days(days),
        };
        let seed = UserSeed::new(self.username).created(created);
        match self.status {
            Status::Pending => seed.pending(),
            Status::PendingLocked => seed.pending().locked(),
            Status::Active => seed.active(),
            Status::Locked => seed.active().locked(),
            Status::PasswordExpired => seed.active().password_expired(),
            Status::NeverExpires => seed.active().password_never_expires(),
            Status::Suspended => seed.suspended(),
            Status::Staged => seed.staged(),
        }
    }

    fn in_group(self, group: &str) -> bool {
        if group == GROUP_ALL_STAFF {
            !self.groups.contains(&GROUP_CONTRACTORS)
        } else {
            self.groups.contains(&group)
        }
    }
}

/// The demo's JumpCloud seed: [`default_seed`] (organisation Acme, key [`DEFAULT_API_KEY`])
/// grown to 43 users and five groups, plus the Globex organisation (see the module docs).
/// Creation dates are relative to now.
pub fn jumpcloud_seed() -> JumpCloudSimBuilder {
    let now = Utc::now();
    let mut builder = default_seed()
        .org(OrgSeed::new(SECOND_ORG_ID, "Globex"))
        .users(USERS.iter().map(|user| user.seed(now)))
        .user(
            UserSeed::new("erik.larsen")
                .org(SECOND_ORG_ID)
                .created(now - ChronoDuration::days(120)),
        )
        .group(
            GroupSeed::new(GROUP_ADMINS)
                .description("Administrators: protected from helpdesk operations"),
        );
    for group in GROUPS {
        let members = USERS
            .iter()
            .filter(|user| user.in_group(group))
            .map(|user| user.username)
            .chain(
                DEFAULT_USERS_EXTRA_GROUPS
                    .iter()
                    .filter(|(_, extra)| *extra == group)
                    .map(|(username, _)| *username),
            );
        builder = builder.add_group_members(group, members);
    }
    builder
}

/// The running demo: both simulators and the pickup directory. Dropping it stops the
/// simulators and deletes the directory.
pub struct DemoEnvironment {
    /// The JumpCloud simulator, seeded with [`jumpcloud_seed`].
    pub jumpcloud: JumpCloudSim,
    /// The Identity Manager simulator, with [`identity_manager::seed`]'s data.
    pub identity_manager: IdentityManagerSim,
    /// Where notification mails are written (`.eml`), a fresh temporary directory.
    pub pickup_dir: PathBuf,
    /// Keeps [`pickup_dir`](Self::pickup_dir) alive; deletes it on drop.
    _pickup: TempDir,
}

impl fmt::Debug for DemoEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoEnvironment")
            .field("jumpcloud", &self.jumpcloud)
            .field("identity_manager", &self.identity_manager.addr())
            .field("pickup_dir", &self.pickup_dir)
            .finish_non_exhaustive()
    }
}

impl DemoEnvironment {
    /// Creates the pickup directory and starts both simulators on `127.0.0.1`, random ports.
    ///
    /// # Errors
    ///
    /// [`DemoError`] when the directory cannot be created or a simulator cannot start.
    pub async fn start() -> Result<Self, DemoError> {
        let pickup = tempfile::Builder::new()
            .prefix("passdesk-demo-pickup-")
            .tempdir()
            .map_err(DemoError::PickupDirectory)?;
        let (jumpcloud, identity_manager) =
            tokio::join!(jumpcloud_seed().start(), IdentityManagerSim::start());
        let jumpcloud = jumpcloud.map_err(DemoError::JumpCloud)?;
        let identity_manager = identity_manager.map_err(DemoError::IdentityManager)?;
        tracing::debug!(
            jumpcloud = %jumpcloud.addr(),
            identity_manager = %identity_manager.addr(),
            "demo environment started"
        );
        Ok(Self {
            jumpcloud,
            identity_manager,
            pickup_dir: pickup.path().to_owned(),
            _pickup: pickup,
        })
    }

    /// The JumpCloud base URL (`http://127.0.0.1:<port>`; v1 under `/api`, v2 under `/api/v2`).
    pub fn jumpcloud_base_url(&self) -> String {
        self.jumpcloud.base_url()
    }

    /// The JumpCloud API key, bound to [`org_id`](Self::org_id) only.
    pub fn jumpcloud_api_key(&self) -> &str {
        DEFAULT_API_KEY
    }

    /// The demo organisation's id (Acme).
    pub fn org_id(&self) -> &str {
        DEFAULT_ORG_ID
    }

    /// The Identity Manager `ApplicationUri` (`http://127.0.0.1:<port>`).
    pub fn identity_manager_uri(&self) -> String {
        self.identity_manager.base_url()
    }

    /// The OpenIdClient `Identifier` (a client appends `@127.0.0.1` itself).
    pub fn im_client_id(&self) -> &str {
        identity_manager::seed::CLIENT_ID
    }

    /// The OpenIdClient's clear secret (a demo value, not a real credential).
    pub fn im_client_secret(&self) -> &str {
        identity_manager::seed::CLIENT_SECRET
    }

    /// The sender of notification mails.
    pub fn mail_from(&self) -> &str {
        MAIL_FROM
    }

    /// The domains notification mails may go to ([`ALLOWED_DOMAINS`]).
    pub fn allowed_domains(&self) -> Vec<String> {
        ALLOWED_DOMAINS
            .iter()
            .map(|&domain| domain.to_owned())
            .collect()
    }

    /// What the simulators recorded so far: JumpCloud mails and expirations, and the
    /// notification mails in the pickup directory (recipients and subject only).
    pub fn sent(&self) -> SentSummary {
        let record = self.jumpcloud.record();
        let (notifications, unreadable) = read_pickup(&self.pickup_dir);
        SentSummary {
            mails: record.mails(),
            expirations: record.expirations(),
            notifications,
            unreadable,
            pickup_dir: self.pickup_dir.clone(),
        }
    }
}

/// One notification mail found in the pickup directory: who it went to and its subject.
/// The body (which holds the password) is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// The file name (`<random>.eml`).
    pub file: String,
    /// The `To` addresses.
    pub to: Vec<String>,
    /// The `Cc` addresses.
    pub cc: Vec<String>,
    /// The decoded subject (control characters removed, at most 200 characters).
    pub subject: String,
    /// When the file was written, when the file system says.
    pub written_at: Option<DateTime<Utc>>,
}

/// What the demo's simulators recorded, for the console's `/sent`; `Display` gives the text.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SentSummary {
    /// JumpCloud activation and reset mails, oldest first.
    pub mails: Vec<Mail>,
    /// JumpCloud password expirations, oldest first.
    pub expirations: Vec<Expiration>,
    /// Notification mails in the pickup directory, oldest first.
    pub notifications: Vec<Notification>,
    /// Pickup files (or the directory itself) that could not be read as a mail header.
    pub unreadable: Vec<String>,
    /// The pickup directory.
    pub pickup_dir: PathBuf,
}

impl SentSummary {
    /// The usernames mailed with this kind of mail, oldest first (repeats included).
    pub fn usernames(&self, kind: MailKind) -> Vec<&str> {
        self.mails
            .iter()
            .filter(|mail| mail.kind == kind)
            .map(|mail| mail.username.as_str())
            .collect()
    }

    /// The usernames whose password was expired, oldest first (repeats included).
    pub fn expired_usernames(&self) -> Vec<&str> {
        self.expirations
            .iter()
            .map(|expiration| expiration.username.as_str())
            .collect()
    }

    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.mails.is_empty()
            && self.expirations.is_empty()
            && self.notifications.is_empty()
            && self.unreadable.is_empty()
    }
}

/// `name, other ×2, third`: names in first-seen order, repeats counted.
fn counted<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        let count = counts.entry(name).or_insert(0);
        if *count == 0 {
            order.push(name);
        }
        *count += 1;
    }
    order
        .iter()
        .map(|name| match counts.get(name) {
            Some(&n) if n > 1 => format!("{name} ×{n}"),
            _ => (*name).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for SentSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (title, kind) in [
            ("JumpCloud activation mails", MailKind::Activation),
            ("JumpCloud reset mails", MailKind::Reset),
        ] {
            let names = self.usernames(kind);
            if names.is_empty() {
                writeln!(f, "{title}: none")?;
            } else {
                writeln!(f, "{title} ({}): {}", names.len(), counted(names))?;
            }
        }
        let expired = self.expired_usernames();
        if expired.is_empty() {
            writeln!(f, "JumpCloud password expirations: none")?;
        } else {
            writeln!(
                f,
                "JumpCloud password expirations ({}): {}",
                expired.len(),
                counted(expired)
            )?;
        }
        let dir = self.pickup_dir.display();
        if self.notifications.is_empty() {
            write!(f, "Password notifications in {dir}: none")?;
        } else {
            write!(
                f,
                "Password notifications in {dir} ({}):",
                self.notifications.len()
            )?;
            for mail in &self.notifications {
                write!(f, "\n  ")?;
                if let Some(at) = mail.written_at {
                    write!(f, "{} ", at.format("%H:%M:%S UTC"))?;
                }
                write!(f, "to {}", list_or_none(&mail.to))?;
                if !mail.cc.is_empty() {
                    write!(f, ", cc {}", mail.cc.join(", "))?;
                }
                write!(f, ": \"{}\"", mail.subject)?;
            }
        }
        if !self.unreadable.is_empty() {
            write!(
                f,
                "\nUnreadable pickup files: {}",
                self.unreadable.join(", ")
            )?;
        }
        Ok(())
    }
}

fn list_or_none(addresses: &[String]) -> String {
    if addresses.is_empty() {
        "(nobody)".to_owned()
    } else {
        addresses.join(", ")
    }
}

/// The `.eml` files of `dir`, oldest first, and the names of those that could not be read.
/// In-progress `.eml.tmp` files and anything else are ignored.
fn read_pickup(dir: &Path) -> (Vec<Notification>, Vec<String>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => return (Vec::new(), vec![dir.display().to_string()]),
    };
    let mut found: Vec<(Option<SystemTime>, Notification)> = Vec::new();
    let mut unreadable = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("eml") {
            continue;
        }
        let file = entry.file_name().to_string_lossy().into_owned();
        let modified = entry.metadata().and_then(|meta| meta.modified()).ok();
        match read_notification(&path, file.clone(), modified) {
            Some(notification) => found.push((modified, notification)),
            None => unreadable.push(file),
        }
    }
    found.sort_by(|(a, first), (b, second)| a.cmp(b).then_with(|| first.file.cmp(&second.file)));
    unreadable.sort();
    (
        found
            .into_iter()
            .map(|(_, notification)| notification)
            .collect(),
        unreadable,
    )
}

/// Reads the header block of one `.eml` file (up to the first empty line, so never the body).
fn read_notification(
    path: &Path,
    file: String,
    modified: Option<SystemTime>,
) -> Option<Notification> {
    let handle = fs::File::open(path).ok()?;
    let mut reader = BufReader::new(std::io::Read::take(handle, MAX_HEADER_BYTES));
    let mut block = Vec::new();
    loop {
        let start = block.len();
        let read = reader.read_until(b'\n', &mut block).ok()?;
        let line = block.get(start..).unwrap_or_default();
        if read == 0 || line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let (headers, _) = mailparse::parse_headers(&block).ok()?;
    let addresses = |name: &str| -> Vec<String> {
        headers
            .get_all_headers(name)
            .into_iter()
            .filter_map(|header| mailparse::addrparse_header(header).ok())
            .flat_map(|list| list.iter().cloned().collect::<Vec<_>>())
            .flat_map(|addr| match addr {
                MailAddr::Single(single) => vec![single.addr],
                MailAddr::Group(group) => group.addrs.into_iter().map(|s| s.addr).collect(),
            })
            .collect()
    };
    let to = addresses("To");
    let cc = addresses("Cc");
    let subject: String = headers
        .get_first_value("Subject")
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SUBJECT_CHARS)
        .collect();
    if to.is_empty() && subject.is_empty() {
        return None;
    }
    Some(Notification {
        file,
        to,
        cc,
        subject,
        written_at: modified.map(DateTime::<Utc>::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_username_is_in_the_module_table() {
        let docs: String = include_str!("demo.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        for user in USERS {
            assert!(
                docs.contains(&format!("| `{}` |", user.username)),
                "{} is missing from the module docs",
                user.username
            );
        }
    }

    #[test]
    fn repeats_are_counted_in_first_seen_order() {
        assert_eq!(
            counted(["b", "a", "b", "c", "b"]),
            "b ×3, a, c",
            "a user mailed three times shows once, with its count"
        );
        assert_eq!(counted([] as [&str; 0]), "");
    }
}
