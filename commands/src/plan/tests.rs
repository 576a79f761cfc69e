//! The planner, rendering and per-target execution against the JumpCloud and Identity Manager
//! simulators: what a helpdesk member would see, and what reaches the upstream APIs.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, TimeZone as _, Utc};
use passdesk_config::TargetRules;
use passdesk_core::identity_manager::{
    self, AssignedResourceTypeId, Client as ImClient, ResourceTypeMappingId,
};
use passdesk_core::jumpcloud::{self, JumpCloudClient, Username};
use passdesk_core::mail::{self, Email, MailSettings, Mailer, Password, Transport};
use passdesk_core::retry::RetryPolicy;
use passdesk_sim::identity_manager::{IdentityManagerSim, seed as im_seed};
use passdesk_sim::jumpcloud::{
    DEFAULT_API_KEY, DEFAULT_ORG_ID, Fault, FaultTarget, GroupSeed, JumpCloudSim, MailKind,
    OrgSeed, Route, UserSeed, default_seed, generated_users,
};
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::watch;

use super::*;
use crate::error::{CommandError, error_reply};
use crate::executor::{self, ExecutorSettings, NoProgress};
use crate::reply::{Table, Tone};

const PASSWORD: &str = "Pw-Zq8-Heron-Tulip-44";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
}

fn client_for(sim: &JumpCloudSim) -> JumpCloudClient {
    JumpCloudClient::builder(SecretString::from(DEFAULT_API_KEY))
        .base_url(sim.base_url())
        .retry(fast_retries())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn jumpcloud() -> (JumpCloudSim, JumpCloudClient) {
    let sim = default_seed().start().await.unwrap();
    let client = client_for(&sim);
    (sim, client)
}

async fn identity_manager() -> (IdentityManagerSim, ImClient) {
    let sim = IdentityManagerSim::start().await.unwrap();
    let client = ImClient::builder(
        sim.base_url(),
        im_seed::CLIENT_ID,
        SecretString::from(im_seed::CLIENT_SECRET),
    )
    .retry_policy(fast_retries())
    .build()
    .unwrap();
    (sim, client)
}

fn pickup_mailer(dir: &Path, allowed: &[&str]) -> Mailer {
    let mut settings = MailSettings::new(
        Transport::pickup_directory(dir),
        "no-reply@acme.example".parse().unwrap(),
    );
    settings.allowed_domains = allowed.iter().map(|d| (*d).to_owned()).collect();
    Mailer::new(settings).unwrap()
}

fn rules() -> TargetRules {
    TargetRules::default()
}

fn user_ref(s: &str) -> UserRef {
    s.parse().unwrap()
}

fn reset_user(user: &str, dry_run: bool) -> Request {
    Request::Reset {
        target: ResetTarget::User(user_ref(user)),
        dry_run,
    }
}

fn reset_group(group: &str, dry_run: bool) -> Request {
    Request::Reset {
        target: ResetTarget::Group(group.parse().unwrap()),
        dry_run,
    }
}

fn reset_inactive(days: Option<u32>, dry_run: bool) -> Request {
    Request::Reset {
        target: ResetTarget::Inactive {
            created_within_days: days,
        },
        dry_run,
    }
}

fn expire(user: &str, dry_run: bool) -> Request {
    Request::Expire {
        user: user_ref(user),
        dry_run,
    }
}

fn notify(art: i64, mapping: i64, cc: Option<&str>, dry_run: bool) -> Request {
    Request::Notify {
        assigned_resource_type: AssignedResourceTypeId::new(art),
        mapping: ResourceTypeMappingId::new(mapping),
        cc: cc.map(|c| c.parse().unwrap()),
        dry_run,
    }
}

/// `(label, action)` per target.
fn actions(plan: &Plan) -> Vec<(String, PlannedAction)> {
    plan.targets
        .iter()
        .map(|t| (t.label.clone(), t.action.clone()))
        .collect()
}

fn action_of<'p>(plan: &'p Plan, label: &str) -> &'p PlannedTarget {
    plan.targets
        .iter()
        .find(|t| t.label == label)
        .unwrap_or_else(|| panic!("no target {label} in {:#?}", actions(plan)))
}

fn skip(reason: SkipReason) -> PlannedAction {
    PlannedAction::Skip(reason)
}

fn username(s: &str) -> Username {
    s.parse().unwrap()
}

#[tokio::test]
async fn single_users_get_the_mail_their_state_calls_for() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let jane_id = sim.user_by_username("jane.doe").unwrap().id;
    #[rustfmt::skip]
    let table: Vec<(&str, &str, PlannedAction)> = vec![
        ("jcuser.one", "jcuser.one", PlannedAction::ActivationMail),
        ("jane.doe", "jane.doe", PlannedAction::ResetMail),
        ("JANE.DOE", "jane.doe", PlannedAction::ResetMail),
        (&jane_id, "jane.doe", PlannedAction::ResetMail),
        ("john.smith", "john.smith", PlannedAction::ResetMail),
        ("sam.taylor", "sam.taylor", skip(SkipReason::Suspended)),
        ("alex.morgan", "alex.morgan", skip(SkipReason::Staged)),
        ("nobody.here", "nobody.here", skip(SkipReason::NotFound)),
        ("0123456789abcdef01234567", "0123456789abcdef01234567", skip(SkipReason::NotFound)),
    ];
    for (asked, label, want) in table {
        let plan = plan(&reset_user(asked, true), &cx).await.unwrap();
        assert_eq!(actions(&plan), vec![(label.to_owned(), want)], "{asked}");
        assert_eq!(plan.scope, format!("user {}", user_ref(asked)));
    }
    // Locked users still get their mail, and the plan says so.
    let plan = plan(&reset_user("john.smith", true), &cx).await.unwrap();
    assert_eq!(plan.targets[0].state(), "active, locked");
    assert!(
        plan.targets[0].notes.iter().any(|n| n.contains("locked")),
        "{:?}",
        plan.targets[0].notes
    );
}

#[tokio::test]
async fn group_members_are_planned_one_by_one_and_vanished_members_are_not_found() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let gone = sim.user_by_username("new.hire2").unwrap().id;
    sim.inject(Fault::status(
        FaultTarget::any_method(format!("/api/systemusers/{gone}")),
        404,
    ));
    let plan = plan(&reset_group("NewUsers", true), &cx).await.unwrap();
    assert_eq!(
        plan.scope,
        "members of JumpCloud group \"NewUsers\" (5 members)"
    );
    let mut got = actions(&plan);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![
        (gone.clone(), skip(SkipReason::NotFound)),
        ("jcuser.one".to_owned(), PlannedAction::ActivationMail),
        ("maria.garcia".to_owned(), PlannedAction::ActivationMail),
        ("new.hire1".to_owned(), PlannedAction::ActivationMail),
        ("sam.taylor".to_owned(), skip(SkipReason::Suspended)),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    assert_eq!(plan.actionable(), 3);
    assert_eq!(plan.skipped(), 2);
    assert_eq!(
        plan.summary(),
        "reset mail for every member of group \"NewUsers\": 3 activation mails, 2 skipped"
    );

    let err = super::plan(&reset_group("No Such Group", true), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::JumpCloud(jumpcloud::Error::NotFound { .. })
        ),
        "{err:?}"
    );
    assert!(error_reply(&err).body.contains("No Such Group"), "{err}");
}

#[tokio::test]
async fn inactive_users_and_the_creation_boundary_the_plan_states() {
    let (_sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_inactive(None, true), &cx).await.unwrap();
    let mut got = actions(&plan);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("alex.morgan".to_owned(), skip(SkipReason::Staged)),
            ("jcuser.one".to_owned(), PlannedAction::ActivationMail),
            ("li.wei".to_owned(), PlannedAction::ActivationMail),
            ("maria.garcia".to_owned(), PlannedAction::ActivationMail),
            ("new.hire1".to_owned(), PlannedAction::ActivationMail),
            ("new.hire2".to_owned(), PlannedAction::ActivationMail),
        ]
    );
    assert_eq!(plan.scope, "users not activated yet (any creation date)");

    // The last 7 days leave out li.wei (30 days old).
    let plan = super::plan(&reset_inactive(Some(7), true), &cx)
        .await
        .unwrap();
    assert!(!plan.targets.iter().any(|t| t.label == "li.wei"));
    assert_eq!(plan.actionable(), 4);
}

#[tokio::test]
async fn the_boundary_shown_is_the_one_sent_and_it_is_strict() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 17, 40, 42).unwrap();
    let boundary = Utc.with_ymd_and_hms(2026, 11, 16, 17, 40, 0).unwrap();
    let sim = JumpCloudSim::builder()
        .org(OrgSeed::new(DEFAULT_ORG_ID, "Acme"))
        .api_key(DEFAULT_API_KEY, [DEFAULT_ORG_ID])
        .user(
            UserSeed::new("edge.before")
                .pending()
                .created(boundary - TimeDelta::seconds(1)),
        )
        .user(UserSeed::new("edge.at").pending().created(boundary))
        .user(
            UserSeed::new("edge.after")
                .pending()
                .created(boundary + TimeDelta::seconds(1)),
        )
        .start()
        .await
        .unwrap();
    let client = client_for(&sim);
    let rules = rules();
    let cx = PlanContext {
        now,
        ..PlanContext::new(&client, &rules, 100)
    };
    let plan = plan(&reset_inactive(Some(7), true), &cx).await.unwrap();
    assert_eq!(
        plan.scope,
        "users not activated yet, created after 2026-11-16 17:40 UTC (strictly after: the last \
         7 days, to the minute)"
    );
    assert_eq!(
        actions(&plan),
        vec![("edge.after".to_owned(), PlannedAction::ActivationMail)]
    );
    let sent = boundary.to_rfc3339_opts(SecondsFormat::Millis, true);
    let searches = sim.record().requests_to(Route::SearchUsers);
    assert!(
        searches
            .iter()
            .any(|r| r.body.contains("$gt") && r.body.contains(&sent)),
        "{searches:#?}"
    );
    let text = render_plan(&plan, true).to_plain_text();
    assert!(
        text.contains("created after 2026-11-16 17:40 UTC"),
        "{text}"
    );
}

#[tokio::test]
async fn expiry_shows_the_current_state_and_applies_to_every_state() {
    let (_sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);

    let plan = plan(&expire("priya.patel", true), &cx).await.unwrap();
    let target = &plan.targets[0];
    assert_eq!(target.action, PlannedAction::Expire);
    assert_eq!(target.state(), "active, password expired");
    assert!(target.notes.iter().any(|n| n.contains("already expired")));

    let plan = super::plan(&expire("sam.taylor", true), &cx).await.unwrap();
    assert_eq!(plan.targets[0].action, PlannedAction::Expire);
    assert_eq!(plan.targets[0].state(), "suspended");
    assert!(
        plan.targets[0]
            .notes
            .iter()
            .any(|n| n.contains("suspended"))
    );

    let plan = super::plan(&expire("nobody.here", true), &cx)
        .await
        .unwrap();
    assert_eq!(
        actions(&plan),
        vec![("nobody.here".to_owned(), skip(SkipReason::NotFound))]
    );
    let text = render_plan(&plan, true).to_plain_text();
    assert!(text.contains("skipped: not found"), "{text}");
}

#[tokio::test]
async fn protected_groups_are_skipped_unless_overridden_and_a_missing_one_is_a_warning() {
    let (_sim, client) = jumpcloud().await;
    let mut rules = rules();
    rules.protected_groups = vec!["IT".parse().unwrap(), "Ghosts".parse().unwrap()];
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_group("All Staff", true), &cx).await.unwrap();
    for name in ["jane.doe", "john.smith"] {
        match &action_of(&plan, name).action {
            PlannedAction::Skip(SkipReason::Protected { why }) => {
                assert_eq!(why, "member of protected group \"IT\"");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(
        action_of(&plan, "priya.patel").action,
        PlannedAction::ResetMail
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("\"Ghosts\" does not exist")),
        "{:?}",
        plan.warnings
    );
    let text = render_plan(&plan, true).to_plain_text();
    assert!(text.contains("⚠ protected group \"Ghosts\""), "{text}");
    assert!(
        text.contains("protected: member of protected group \"IT\""),
        "{text}"
    );

    let cx = PlanContext {
        may_touch_protected: true,
        ..cx
    };
    let plan = super::plan(&reset_group("All Staff", true), &cx)
        .await
        .unwrap();
    let jane = action_of(&plan, "jane.doe");
    assert_eq!(jane.action, PlannedAction::ResetMail);
    assert!(
        jane.notes.iter().any(|n| n.contains("protected")),
        "{jane:?}"
    );
}

#[tokio::test]
async fn protection_that_cannot_be_read_fails_the_plan() {
    let (sim, client) = jumpcloud().await;
    let mut rules = rules();
    rules.protected_groups = vec!["IT".parse().unwrap()];
    let cx = PlanContext::new(&client, &rules, 100);
    sim.inject(Fault::status(Route::ListUserGroupMembers, 403));
    let err = plan(&reset_user("priya.patel", true), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::JumpCloud(jumpcloud::Error::Forbidden { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn protected_username_patterns_are_skipped_ignoring_case() {
    let (_sim, client) = jumpcloud().await;
    let mut rules = rules();
    rules.protected_usernames = vec!["JANE.*".parse().unwrap()];
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_group("IT", true), &cx).await.unwrap();
    assert_eq!(
        action_of(&plan, "jane.doe").action,
        skip(SkipReason::Protected {
            why: "username matches protected pattern `JANE.*`".to_owned()
        })
    );
    assert_eq!(
        action_of(&plan, "john.smith").action,
        PlannedAction::ResetMail
    );
}

#[tokio::test]
async fn the_requesters_own_account_needs_allow_self() {
    let (_sim, client) = jumpcloud().await;
    let rules = rules();
    let me = username("Jane.Doe");
    let cx = PlanContext {
        requester_account: Some(&me),
        ..PlanContext::new(&client, &rules, 100)
    };
    for request in [reset_user("jane.doe", true), expire("jane.doe", true)] {
        let plan = plan(&request, &cx).await.unwrap();
        assert_eq!(
            plan.targets[0].action,
            skip(SkipReason::OwnAccount),
            "{request}"
        );
    }
    // The protected-target override is not a licence to act on oneself.
    let overriding = PlanContext {
        may_touch_protected: true,
        ..cx
    };
    let plan = super::plan(&reset_user("jane.doe", true), &overriding)
        .await
        .unwrap();
    assert_eq!(plan.targets[0].action, skip(SkipReason::OwnAccount));

    let allowed = PlanContext {
        allow_self: true,
        ..cx
    };
    let plan = super::plan(&reset_user("jane.doe", true), &allowed)
        .await
        .unwrap();
    assert_eq!(plan.targets[0].action, PlannedAction::ResetMail);
    assert!(
        plan.targets[0]
            .notes
            .contains(&"your own account".to_owned())
    );
    // Somebody else is unaffected.
    let plan = super::plan(&reset_user("john.smith", true), &cx)
        .await
        .unwrap();
    assert_eq!(plan.targets[0].action, PlannedAction::ResetMail);
}

#[tokio::test]
async fn more_actionable_targets_than_the_ceiling_are_refused_whole() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 4);
    // Five pending users and a staged one: five actionable.
    let err = plan(&reset_inactive(None, false), &cx).await.unwrap_err();
    assert!(
        matches!(err, CommandError::TooManyTargets { n: 5, max: 4 }),
        "{err:?}"
    );
    let reply = error_reply(&err);
    assert_eq!(reply.title, "Too many targets");
    assert!(
        reply.body.contains("5 users") && reply.body.contains("limit is 4"),
        "{reply}"
    );
    // Skipped targets do not count: NewUsers has four pending members and a suspended one.
    let plan = super::plan(&reset_group("NewUsers", false), &cx)
        .await
        .unwrap();
    assert_eq!(plan.actionable(), 4);
    assert!(sim.record().mails().is_empty());
}

#[tokio::test]
async fn a_dry_run_of_every_command_changes_nothing_upstream() {
    let (jc_sim, client) = jumpcloud().await;
    let (im_sim, im_client) = identity_manager().await;
    let pickup = tempfile::tempdir().unwrap();
    let mailer = pickup_mailer(pickup.path(), &[]);
    let mut rules = rules();
    rules.protected_groups = vec!["IT".parse().unwrap()];
    let cx = PlanContext {
        identity_manager: Some(&im_client),
        mailer: Some(&mailer),
        ..PlanContext::new(&client, &rules, 100)
    };
    let requests = [
        reset_user("jcuser.one", true),
        reset_user("jane.doe", true),
        reset_group("NewUsers", true),
        reset_group("All Staff", true),
        reset_inactive(None, true),
        reset_inactive(Some(7), true),
        expire("priya.patel", true),
        expire("jane.doe", true),
        notify(
            im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
            im_seed::EXAMPLE_MAPPING,
            Some("lead@acme.example"),
            true,
        ),
    ];
    for request in &requests {
        let plan = plan(request, &cx).await.unwrap();
        assert!(!plan.targets.is_empty(), "{request}: {plan:#?}");
        let reply = render_plan(&plan, true);
        assert_eq!(reply.title, "Dry run — nothing was sent");
        assert!(reply.buttons.is_empty());
    }

    let record = jc_sim.record();
    assert!(record.mails().is_empty(), "{:?}", record.mails());
    assert!(record.expirations().is_empty());
    assert!(record.requests_to(Route::ReactivateUsers).is_empty());
    assert!(record.requests_to(Route::ExpirePassword).is_empty());
    let all = record.requests();
    assert!(all.len() > requests.len(), "the plans did read JumpCloud");
    for request in all {
        let read = request.method.as_str() == "GET" || request.route == Some(Route::SearchUsers);
        assert!(read, "{} {}", request.method, request.path);
    }
    let im_requests = im_sim.requests();
    assert!(!im_requests.is_empty());
    for request in im_requests {
        assert!(
            request.method == "GET" || request.path == "/connect/token",
            "{} {}",
            request.method,
            request.path
        );
    }
    assert_eq!(std::fs::read_dir(pickup.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn notifications_show_who_is_mailed_for_whom_and_where_the_mail_goes() {
    let (_jc_sim, client) = jumpcloud().await;
    let (_im_sim, im_client) = identity_manager().await;
    let pickup = tempfile::tempdir().unwrap();
    let mailer = pickup_mailer(pickup.path(), &[]);
    let rules = rules();
    let cx = PlanContext {
        identity_manager: Some(&im_client),
        mailer: Some(&mailer),
        ..PlanContext::new(&client, &rules, 100)
    };
    let request = notify(
        im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        im_seed::EXAMPLE_MAPPING,
        Some("lead@acme.example"),
        false,
    );
    let plan = plan(&request, &cx).await.unwrap();
    assert_eq!(plan.targets.len(), 1);
    let target = &plan.targets[0];
    assert_eq!(target.label, im_seed::EXAMPLE_NOTIFIED_MAIL);
    let PlannedAction::Notify(notification) = &target.action else {
        panic!("{target:?}");
    };
    assert_eq!(
        notification.plan.beneficiary_name.as_deref(),
        Some(im_seed::EXAMPLE_BENEFICIARY_NAME)
    );
    assert!(notification.preview.is_some());
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);

    let text = render_plan(&plan, false).to_plain_text();
    for want in [
        "! Please confirm",
        "Notified: grace.hopper@acme.example (Grace Hopper)",
        "Beneficiary: Ada Lovelace",
        "it-security@acme.example",
        "lead@acme.example",
        "Password: asked for in a private prompt",
        "Recipient",
        "password notification mail",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
}

#[tokio::test]
async fn notification_warnings_refusals_and_missing_configuration() {
    let (_jc_sim, client) = jumpcloud().await;
    let (_im_sim, im_client) = identity_manager().await;
    let pickup = tempfile::tempdir().unwrap();
    let mailer = pickup_mailer(pickup.path(), &[]);
    let rules = rules();
    let cx = PlanContext {
        identity_manager: Some(&im_client),
        mailer: Some(&mailer),
        ..PlanContext::new(&client, &rules, 100)
    };
    let nameless = im_seed::MAPPING_WITHOUT_BENEFICIARY_NAME;
    let request = notify(im_seed::art_for_mapping(nameless), nameless, None, true);

    // No beneficiary name: a warning by default…
    let plan = plan(&request, &cx).await.unwrap();
    assert!(plan.targets[0].is_actionable());
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("BeneficiaryFullNameBinding")),
        "{:?}",
        plan.warnings
    );
    assert!(
        render_plan(&plan, true)
            .body
            .contains("⚠ the password reset settings have no")
    );
    // …a refusal when policy requires the name.
    let strict = PlanContext {
        require_beneficiary_name: true,
        ..cx
    };
    let err = super::plan(&request, &strict).await.unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::IdentityManager(identity_manager::Error::MissingBeneficiaryName { .. })
        ),
        "{err:?}"
    );

    // A recipient outside the allowed domains is skipped before any password is asked.
    let narrow = pickup_mailer(pickup.path(), &["other.example"]);
    let narrow_cx = PlanContext {
        mailer: Some(&narrow),
        ..cx
    };
    let example = notify(
        im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        im_seed::EXAMPLE_MAPPING,
        None,
        false,
    );
    let plan = super::plan(&example, &narrow_cx).await.unwrap();
    assert_eq!(plan.actionable(), 0);
    match &plan.targets[0].action {
        PlannedAction::Skip(SkipReason::MailRefused { why }) => {
            assert!(why.contains("grace.hopper@acme.example"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    let reply = render_plan(&plan, false);
    assert_eq!(reply.title, "Nothing to do");

    // Without Identity Manager there is no notification; without a mailer, only a dry run.
    let bare = PlanContext::new(&client, &rules, 100);
    let err = super::plan(&example, &bare).await.unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::NotConfigured {
                what: "identity manager"
            }
        ),
        "{err:?}"
    );
    let no_mailer = PlanContext { mailer: None, ..cx };
    let err = super::plan(&example, &no_mailer).await.unwrap_err();
    assert!(matches!(err, CommandError::NotConfigured { .. }), "{err:?}");
    let dry = notify(
        im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        im_seed::EXAMPLE_MAPPING,
        None,
        true,
    );
    let plan = super::plan(&dry, &no_mailer).await.unwrap();
    assert!(plan.warnings.iter().any(|w| w.contains("not configured")));
}

#[tokio::test]
async fn without_jumpcloud_notifications_plan_and_jumpcloud_commands_are_not_configured() {
    let (_im_sim, im_client) = identity_manager().await;
    let pickup = tempfile::tempdir().unwrap();
    let mailer = pickup_mailer(pickup.path(), &[]);
    let rules = rules();
    let cx = PlanContext {
        jumpcloud: None,
        identity_manager: Some(&im_client),
        mailer: Some(&mailer),
        targets: &rules,
        max_targets: 100,
        may_touch_protected: false,
        requester_account: None,
        allow_self: false,
        require_beneficiary_name: false,
        now: Utc::now(),
    };
    let example = notify(
        im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        im_seed::EXAMPLE_MAPPING,
        None,
        false,
    );
    let plan = super::plan(&example, &cx).await.unwrap();
    assert_eq!(plan.actionable(), 1);
    for request in [
        reset_user("jcuser.one", true),
        reset_group("NewUsers", false),
        expire("jane.doe", true),
    ] {
        let err = super::plan(&request, &cx).await.unwrap_err();
        assert!(
            matches!(err, CommandError::NotConfigured { what: "jumpcloud" }),
            "{err:?}"
        );
        assert_eq!(error_reply(&err).title, "Not configured");
    }
}

#[tokio::test]
async fn dry_run_and_confirmation_renderings() {
    let (_sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_group("NewUsers", true), &cx).await.unwrap();
    let dry = render_plan(&plan, true);
    assert_eq!(dry.tone, Tone::Info);
    let text = dry.to_plain_text();
    for want in [
        "Dry run — nothing was sent",
        "Reset mail for every member of group \"NewUsers\"",
        "Targets: members of JumpCloud group \"NewUsers\" (5 members)",
        "Would do: 4 activation mails, 1 skipped",
        "User",
        "Would happen",
    ] {
        assert!(text.contains(want), "{want:?} missing in\n{text}");
    }
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
            .to_owned()
    };
    assert!(
        line("jcuser.one").contains("pending") && line("jcuser.one").contains("activation mail")
    );
    assert!(line("sam.taylor").contains("skipped: suspended"));
    assert!(!text.contains("dry run: "), "{text}");

    let confirm = render_plan(&plan, false);
    assert_eq!(confirm.tone, Tone::Warning);
    assert_eq!(confirm.title, "Please confirm");
    assert!(confirm.to_plain_text().contains("Will happen"));
}

#[tokio::test]
async fn big_plans_render_a_bounded_table() {
    let members: Vec<String> = (0..40).map(|i| format!("bulk.{i:04}")).collect();
    let sim = JumpCloudSim::builder()
        .api_key(DEFAULT_API_KEY, [DEFAULT_ORG_ID])
        .users(generated_users("bulk", 40))
        .group(GroupSeed::new("Bulk").members(members))
        .start()
        .await
        .unwrap();
    let client = client_for(&sim);
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_group("Bulk", true), &cx).await.unwrap();
    assert_eq!(plan.actionable(), 40);
    let reply = render_plan(&plan, true);
    let table = reply.table.as_ref().unwrap();
    assert_eq!(table.rows.len(), Table::MAX_ROWS);
    assert_eq!(table.omitted, 15);
    assert!(reply.to_plain_text().contains("… and 15 more"));
    assert!(
        reply.body.contains("40 password reset mails"),
        "{}",
        reply.body
    );
}

fn bulk_settings() -> ExecutorSettings {
    ExecutorSettings::new(
        NonZeroUsize::new(4).unwrap(),
        NonZeroU32::new(1000).unwrap(),
        Duration::from_millis(50),
    )
}

#[tokio::test]
async fn confirmed_group_reset_sends_one_mail_per_actionable_member() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_group("NewUsers", false), &cx).await.unwrap();
    let exec = ExecuteContext::new(client.clone());
    let (_stop_tx, stop) = watch::channel(false);
    let report = executor::run(
        plan.targets.clone(),
        &bulk_settings(),
        &NoProgress,
        stop,
        move |target: PlannedTarget| {
            let exec = exec.clone();
            async move { execute_target(&target, &exec).await }
        },
    )
    .await;

    let mails = sim.record().mails();
    let mut mailed: Vec<&str> = mails.iter().map(|m| m.username.as_str()).collect();
    mailed.sort_unstable();
    assert_eq!(
        mailed,
        ["jcuser.one", "maria.garcia", "new.hire1", "new.hire2"]
    );
    assert!(mails.iter().all(|m| m.kind == MailKind::Activation));

    let reply = render_report(&plan, &report.outcomes);
    assert_eq!(reply.tone, Tone::Success);
    assert_eq!(reply.title, "Done: 4 sent, 1 skipped");
    let text = reply.to_plain_text();
    assert!(text.contains("Username") && text.contains("UserID") && text.contains("ResetEmail"));
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
            .to_owned()
    };
    let jc_id = sim.user_by_username("jcuser.one").unwrap().id;
    assert!(row("jcuser.one").contains(&jc_id));
    assert!(row("jcuser.one").ends_with("Sent (activation)"), "{text}");
    assert!(row("sam.taylor").ends_with("Skipped: suspended"), "{text}");
    assert!(text.contains("progress: 5/5 done"), "{text}");
}

#[tokio::test]
async fn expiry_reports_true_like_pass_thru() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&expire("jane.doe", false), &cx).await.unwrap();
    let exec = ExecuteContext::new(client.clone());
    let outcome = execute_target(&plan.targets[0], &exec).await;
    assert_eq!(outcome, TargetOutcome::Expired);
    let expirations = sim.record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].username, "jane.doe");
    let reply = render_report(&plan, &[(plan.targets[0].clone(), outcome)]);
    let text = reply.to_plain_text();
    assert_eq!(reply.title, "Done: 1 expired");
    assert!(text.contains("PassThru"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("jane.doe") && l.ends_with("true")),
        "{text}"
    );
}

#[tokio::test]
async fn a_lost_answer_is_unknown_and_never_resent() {
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    let plan = plan(&reset_user("jane.doe", false), &cx).await.unwrap();
    sim.inject(Fault::status(Route::ReactivateUsers, 503).times(5));
    let exec = ExecuteContext::new(client.clone());
    let outcome = execute_target(&plan.targets[0], &exec).await;
    assert!(
        matches!(outcome, TargetOutcome::Unknown { .. }),
        "{outcome:?}"
    );
    assert_eq!(sim.record().requests_to(Route::ReactivateUsers).len(), 1);
    let reply = render_report(&plan, &[(plan.targets[0].clone(), outcome)]);
    assert_eq!(reply.tone, Tone::Warning);
    assert!(reply.body.contains("may or may not"), "{}", reply.body);
    assert!(reply.to_plain_text().contains("Unknown:"));
}

#[tokio::test]
async fn execution_rereads_the_user_and_skips_one_suspended_since_the_plan() {
    let (sim, client) = jumpcloud().await;
    let exec = ExecuteContext::new(client.clone());
    // A plan made while sam.taylor looked active; JumpCloud now says suspended.
    let id = sim.user_by_username("sam.taylor").unwrap().id;
    let mut user = jumpcloud::SystemUser::new(id.parse().unwrap(), "sam.taylor");
    user.activated = true;
    user.state = jumpcloud::UserState::Activated;
    let target = PlannedTarget::new("sam.taylor", Some(user), PlannedAction::ResetMail);
    let outcome = execute_target(&target, &exec).await;
    assert_eq!(outcome, TargetOutcome::Skipped(SkipReason::Suspended));
    assert!(sim.record().requests_to(Route::ReactivateUsers).is_empty());
    // Skipped targets make no request at all.
    let before = sim.record().requests().len();
    let skipped = PlannedTarget::new("x", None, PlannedAction::Skip(SkipReason::NotFound));
    assert_eq!(
        execute_target(&skipped, &exec).await,
        TargetOutcome::Skipped(SkipReason::NotFound)
    );
    assert_eq!(sim.record().requests().len(), before);
}

#[tokio::test]
async fn a_notification_is_sent_with_the_prompted_password_and_reports_no_secret() {
    let (_jc_sim, client) = jumpcloud().await;
    let (_im_sim, im_client) = identity_manager().await;
    let pickup = tempfile::tempdir().unwrap();
    let mailer = pickup_mailer(pickup.path(), &[]);
    let rules = rules();
    let cx = PlanContext {
        identity_manager: Some(&im_client),
        mailer: Some(&mailer),
        ..PlanContext::new(&client, &rules, 100)
    };
    let request = notify(
        im_seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        im_seed::EXAMPLE_MAPPING,
        None,
        false,
    );
    let plan = plan(&request, &cx).await.unwrap();
    // The bulk path refuses to send a notification without the password prompt.
    let exec = ExecuteContext::new(client.clone());
    let refused = execute_target(&plan.targets[0], &exec).await;
    assert!(
        matches!(refused, TargetOutcome::Failed { .. }),
        "{refused:?}"
    );
    assert_eq!(std::fs::read_dir(pickup.path()).unwrap().count(), 0);

    let PlannedAction::Notify(notification) = &plan.targets[0].action else {
        panic!("{:?}", plan.targets[0]);
    };
    let password = Password::new(SecretString::from(PASSWORD)).unwrap();
    let outcome = execute_notification(notification, &mailer, password).await;
    assert!(
        matches!(outcome, TargetOutcome::Notified { .. }),
        "{outcome:?}"
    );
    assert_eq!(std::fs::read_dir(pickup.path()).unwrap().count(), 1);
    let reply = render_report(&plan, &[(plan.targets[0].clone(), outcome.clone())]);
    let shown = format!("{outcome:?} {outcome} {reply:?} {}", reply.to_plain_text());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("grace.hopper@acme.example"), "{shown}");
    assert_eq!(reply.tone, Tone::Success);
}

const MARKER: &str = "UPSTREAM-BODY-MARKER-7731";

#[tokio::test]
async fn error_replies_never_echo_an_upstream_body_or_a_secret() {
    // Real errors from the simulators, with a body that must not reach chat.
    let (sim, client) = jumpcloud().await;
    let rules = rules();
    let cx = PlanContext::new(&client, &rules, 100);
    sim.inject(Fault::status(Route::SearchUsers, 403).with_body(json!({ "message": MARKER })));
    let err = plan(&reset_user("jane.doe", true), &cx).await.unwrap_err();
    assert!(
        err.to_string().contains(MARKER),
        "the marker reached the error: {err}"
    );
    let reply = error_reply(&err);
    let text = format!("{reply:?} {}", reply.to_plain_text());
    assert!(!text.contains(MARKER), "{text}");
    assert!(!text.contains(DEFAULT_API_KEY), "{text}");
    assert!(text.contains("403"), "{text}");

    let (im_sim, _) = identity_manager().await;
    let secret = "Wrong-Client-Secret-90210";
    let wrong = ImClient::builder(
        im_sim.base_url(),
        im_seed::CLIENT_ID,
        SecretString::from(secret),
    )
    .retry_policy(fast_retries())
    .build()
    .unwrap();
    let cx = PlanContext {
        identity_manager: Some(&wrong),
        ..cx
    };
    let err = super::plan(&notify(1000, 10, None, true), &cx)
        .await
        .unwrap_err();
    let text = error_reply(&err).to_plain_text();
    assert!(text.contains("client credentials"), "{text}");
    assert!(
        !text.contains(secret) && !text.contains(&im_sim.base_url()),
        "{text}"
    );

    // Every variant that carries upstream text.
    let address: Email = "x@acme.example".parse().unwrap();
    let errors: Vec<CommandError> = vec![
        jumpcloud::Error::Forbidden {
            excerpt: MARKER.into(),
        }
        .into(),
        jumpcloud::Error::OrgMalformed {
            excerpt: MARKER.into(),
        }
        .into(),
        jumpcloud::Error::UnknownOrg {
            excerpt: MARKER.into(),
        }
        .into(),
        jumpcloud::Error::Upstream {
            status: 409,
            excerpt: MARKER.into(),
        }
        .into(),
        jumpcloud::Error::Decode {
            detail: MARKER.into(),
        }
        .into(),
        identity_manager::Error::BadRequest {
            route: "/api/x",
            status: 400,
            excerpt: MARKER.into(),
        }
        .into(),
        identity_manager::Error::Upstream {
            route: "/api/x",
            status: 500,
            excerpt: MARKER.into(),
        }
        .into(),
        identity_manager::Error::Decode {
            route: "/api/x",
            message: MARKER.into(),
        }
        .into(),
        identity_manager::Error::Config(MARKER.into()).into(),
        identity_manager::Error::BindingsRefused {
            assigned_resource_type: AssignedResourceTypeId::new(1),
            mapping: ResourceTypeMappingId::new(2),
            settings: "S".into(),
            excerpt: MARKER.into(),
        }
        .into(),
        mail::Error::Smtp {
            host: "smtp".into(),
            port: 25,
            code: Some(550),
            permanent: true,
            detail: MARKER.into(),
        }
        .into(),
        mail::Error::SentButUnknown {
            host: "smtp".into(),
            port: 25,
            detail: MARKER.into(),
        }
        .into(),
        mail::Error::Template {
            part: "html".into(),
            problem: MARKER.into(),
        }
        .into(),
        mail::Error::Build(MARKER.into()).into(),
        identity_manager::Error::Mail(mail::Error::DomainNotAllowed { address }).into(),
    ];
    for err in &errors {
        let reply = error_reply(err);
        let text = format!("{reply:?}");
        assert!(!text.contains(MARKER), "{err:?} → {text}");
        assert!(!reply.body.is_empty() && !reply.title.is_empty());
    }
    // A mail that may have left is a warning to check, not a plain failure.
    assert_eq!(error_reply(&errors[11]).tone, Tone::Warning);
    assert!(error_reply(&errors[11]).body.contains("may or may not"));
    let body = error_reply(&errors[14]).body;
    assert!(body.contains("x@acme.example"), "{body}");
}

#[test]
fn pending_action_errors_explain_what_to_do() {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 17, 40, 0).unwrap();
    let reply = error_reply(&CommandError::AlreadyHandled {
        by: "Jo `Admin`".into(),
        at,
    });
    assert_eq!(reply.title, "Already handled");
    assert!(reply.body.contains("Jo 'Admin'") && reply.body.contains("2026-11-23 17:40 UTC"));
    let reply = error_reply(&CommandError::Expired);
    assert!(
        reply.body.contains("run the command again"),
        "{}",
        reply.body
    );
    let reply = error_reply(&CommandError::Denied {
        reason: "only the requester may confirm".into(),
    });
    assert_eq!(reply.title, "Not allowed");
    assert_eq!(reply.tone, Tone::Error);
    assert_eq!(reply.body, "only the requester may confirm");
}

#[test]
fn usage_errors_become_their_rendering() {
    let invocation = crate::invocation::Invocation {
        actor: crate::invocation::Actor {
            platform: crate::invocation::Platform::Console,
            id: "u1".into(),
            display_name: "Jo".into(),
            roles: Vec::new(),
        },
        channel: None,
        tenant: None,
        interaction_id: "i1".into(),
        command: "reset".into(),
        options: vec![("user".into(), "a b".into())],
    };
    let usage = crate::parse::parse(&invocation).unwrap_err();
    let reply = error_reply(&CommandError::from(usage.clone()));
    assert_eq!(reply.title, "Invalid command");
    assert_eq!(reply.body, usage.render());
}

#[test]
fn the_creation_boundary_is_rounded_down_to_the_minute() {
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 23, 17, 40, 59).unwrap();
    assert_eq!(
        created_after(now, 1),
        Utc.with_ymd_and_hms(2026, 11, 22, 17, 40, 0).unwrap()
    );
}
