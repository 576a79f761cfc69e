//! The Identity Manager client against the simulator, delivering through the SMTP sink and a
//! pickup directory: what a helpdesk member sees for the documented example and for every way
//! it can go wrong.
// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below are test code
// too, where a panic is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use passdesk_core::identity_manager::{
    AssignedResourceTypeId, Client, Error, NotificationPlan, PlanOptions, PlanWarning,
    ResourceTypeMappingId, send_notification,
};
use passdesk_core::mail::{
    Delivery, Email, MailSettings, Mailer, Password, SecureSocketOption, Transport,
};
use passdesk_core::retry::RetryPolicy;
use passdesk_sim::identity_manager::{IdentityManagerSim, SimRoute, seed};
use passdesk_sim::smtp::{MailMessage, SmtpSink};
use passdesk_tests::trace::{Capture, contains_any_form};
use secrecy::SecretString;

const PASSWORD: &str = "Pw-7qLx9Zr-Tulip";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

fn art(id: i64) -> AssignedResourceTypeId {
    AssignedResourceTypeId::new(id)
}

fn mapping(id: i64) -> ResourceTypeMappingId {
    ResourceTypeMappingId::new(id)
}

fn email(s: &str) -> Email {
    s.parse().unwrap()
}

fn password() -> Password {
    Password::new(SecretString::from(PASSWORD)).unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
}

fn client_as(sim: &IdentityManagerSim, id: &str, secret: &str, options: PlanOptions) -> Client {
    Client::builder(sim.base_url(), id, SecretString::from(secret))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(Duration::from_secs(5))
        .retry_policy(fast_retries())
        .plan_options(options)
        .build()
        .unwrap()
}

fn client(sim: &IdentityManagerSim) -> Client {
    client_as(
        sim,
        seed::CLIENT_ID,
        seed::CLIENT_SECRET,
        PlanOptions::default(),
    )
}

fn smtp_settings(sink: &SmtpSink) -> MailSettings {
    let mut settings = MailSettings::new(
        Transport::smtp("127.0.0.1", sink.port(), SecureSocketOption::None),
        email("no-reply@acme.example"),
    );
    settings.connect_timeout = Duration::from_secs(2);
    settings.timeout = Duration::from_secs(5);
    settings
}

fn smtp_mailer(sink: &SmtpSink) -> Mailer {
    Mailer::new(smtp_settings(sink)).unwrap()
}

/// How many times `needle` occurs in `haystack`.
fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The decoded text and HTML parts each hold the password exactly once.
fn assert_password_once_per_part(message: &MailMessage) {
    let text = message.text_body().expect("a text/plain part");
    let html = message.html_body().expect("a text/html part");
    assert_eq!(occurrences(text, PASSWORD), 1, "text part");
    assert_eq!(occurrences(html, PASSWORD), 1, "html part");
    assert!(!message.subject().unwrap_or_default().contains(PASSWORD));
}

async fn resolve(client: &Client, a: i64, m: i64, cc: &[Email]) -> Result<NotificationPlan, Error> {
    client.plan_notification(art(a), mapping(m), cc).await
}

#[tokio::test]
async fn seed_example_mails_the_notified_person_with_the_beneficiarys_name() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let client = client(&sim);

    // --assigned-resource-type 1000 --resource-type-mapping 10
    let plan = resolve(
        &client,
        seed::EXAMPLE_ASSIGNED_RESOURCE_TYPE,
        seed::EXAMPLE_MAPPING,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(plan.recipient, email(seed::EXAMPLE_NOTIFIED_MAIL));
    assert_eq!(
        plan.recipient_name.as_deref(),
        Some(seed::EXAMPLE_NOTIFIED_NAME)
    );
    assert_eq!(
        plan.beneficiary_name.as_deref(),
        Some(seed::EXAMPLE_BENEFICIARY_NAME)
    );
    assert_eq!(
        plan.mapping_identifier.as_deref(),
        Some("AD_Entry_NominativeUser")
    );
    assert_eq!(plan.settings_identifier, "ToManager");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    // The dry run shows who is told and about whom.
    let shown = plan.to_string();
    assert!(
        shown.contains("to: grace.hopper@acme.example (Grace Hopper)"),
        "{shown}"
    );
    assert!(shown.contains("beneficiary: Ada Lovelace"), "{shown}");

    let delivery = send_notification(&smtp_mailer(&sink), &plan, password())
        .await
        .unwrap();
    assert!(matches!(delivery, Delivery::Sent { .. }), "{delivery:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to[0], seed::EXAMPLE_NOTIFIED_MAIL);
    assert!(
        mail.header("To")
            .unwrap()
            .contains(seed::EXAMPLE_NOTIFIED_MAIL)
    );
    let message = mail.message.as_ref().unwrap();
    assert!(
        message
            .text_body()
            .unwrap()
            .contains(seed::EXAMPLE_BENEFICIARY_NAME)
    );
    assert!(
        message
            .html_body()
            .unwrap()
            .contains(seed::EXAMPLE_BENEFICIARY_NAME)
    );
    assert_password_once_per_part(message);
    // The beneficiary is not mailed: the settings notify the manager.
    assert!(
        !mail
            .rcpt_to
            .iter()
            .any(|r| r == seed::EXAMPLE_BENEFICIARY_MAIL)
    );
}

#[tokio::test]
async fn seed_example_through_a_pickup_directory() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::new(MailSettings::new(
        Transport::pickup_directory(dir.path()),
        email("no-reply@acme.example"),
    ))
    .unwrap();
    let plan = resolve(&client(&sim), 1000, 10, &[]).await.unwrap();
    let delivery = send_notification(&mailer, &plan, password()).await.unwrap();
    let Delivery::WrittenToPickup { path, to, .. } = delivery else {
        panic!("expected a pickup file, got {delivery:?}");
    };
    assert_eq!(to, email(seed::EXAMPLE_NOTIFIED_MAIL));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let message = MailMessage::parse(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        message
            .header("To")
            .unwrap()
            .contains(seed::EXAMPLE_NOTIFIED_MAIL)
    );
    assert!(
        message
            .text_body()
            .unwrap()
            .contains(seed::EXAMPLE_BENEFICIARY_NAME)
    );
    assert_password_once_per_part(&message);
}

#[tokio::test]
async fn settings_cc_and_command_cc_are_both_copied_once() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let command_cc = [
        email("helpdesk-lead@acme.example"),
        // The same mailbox as the settings' NotificationCC, in other case: copied once.
        email("IT-Security@acme.example"),
    ];
    let plan = resolve(&client(&sim), 1000, 10, &command_cc).await.unwrap();
    assert_eq!(
        plan.cc,
        [
            email(seed::EXAMPLE_SETTINGS_CC),
            email("helpdesk-lead@acme.example")
        ]
    );
    send_notification(&smtp_mailer(&sink), &plan, password())
        .await
        .unwrap();
    let mail = &sink.mails()[0];
    let mut rcpt = mail.rcpt_to.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        [
            "grace.hopper@acme.example",
            "helpdesk-lead@acme.example",
            "it-security@acme.example"
        ]
    );
    let cc_header = mail.header("Cc").unwrap();
    assert!(cc_header.contains(seed::EXAMPLE_SETTINGS_CC), "{cc_header}");
    assert!(
        cc_header.contains("helpdesk-lead@acme.example"),
        "{cc_header}"
    );
}

#[tokio::test]
async fn notified_person_can_be_the_owner_and_dry_run_warnings_show() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let client = client(&sim);
    let to_user = resolve(
        &client,
        seed::art_for_mapping(seed::MAPPING_TO_USER),
        seed::MAPPING_TO_USER,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(to_user.recipient, email(seed::EXAMPLE_BENEFICIARY_MAIL));
    assert!(to_user.cc.is_empty());

    let nameless = resolve(
        &client,
        seed::art_for_mapping(seed::MAPPING_WITHOUT_BENEFICIARY_NAME),
        seed::MAPPING_WITHOUT_BENEFICIARY_NAME,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(nameless.beneficiary_name, None);
    assert_eq!(nameless.warnings, [PlanWarning::NoBeneficiaryNameBinding]);
    assert!(
        nameless
            .to_string()
            .contains("warning: the password reset settings have no BeneficiaryFullNameBinding")
    );

    let two_way = resolve(
        &client,
        seed::art_for_mapping(seed::MAPPING_TWO_WAY),
        seed::MAPPING_TWO_WAY,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(two_way.warnings, [PlanWarning::TwoWayMode]);
}

/// One refusal: the client, ART, mapping, the expected variant, and what the message must say.
type Case<'a> = (&'a Client, i64, i64, fn(&Error) -> bool, &'a [&'a str]);

/// Every refusal a helpdesk member can meet, with the ids its message must name.
#[tokio::test]
async fn each_error_names_the_id_involved() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let client = client(&sim);
    let strict = client_as(
        &sim,
        seed::CLIENT_ID,
        seed::CLIENT_SECRET,
        PlanOptions {
            require_beneficiary_name: true,
            ..PlanOptions::default()
        },
    );
    let a = seed::art_for_mapping;
    #[rustfmt::skip]
    let table: Vec<Case<'_>> = vec![
        (&client, 1000, seed::MISSING_MAPPING,
            |e| matches!(e, Error::MappingNotFound { .. }),
            &["resource type mapping 99 was not found"]),
        (&client, seed::ART_OF_OTHER_RESOURCE_TYPE, seed::MAPPING_WITHOUT_SETTINGS,
            |e| matches!(e, Error::NoPasswordResetSettings { .. }),
            &["resource type mapping 11 has no password reset settings"]),
        (&client, a(seed::MAPPING_DANGLING_SETTINGS), seed::MAPPING_DANGLING_SETTINGS,
            |e| matches!(e, Error::NoPasswordResetSettings { .. }),
            &["resource type mapping 18 has no password reset settings"]),
        (&client, a(seed::MAPPING_MODE_OFF), seed::MAPPING_MODE_OFF,
            |e| matches!(e, Error::NotificationsDisabled { .. }),
            &["disabled for resource type mapping 12", "'Off' have Mode 0"]),
        (&client, a(seed::MAPPING_NOTIFICATIONS_DISABLED), seed::MAPPING_NOTIFICATIONS_DISABLED,
            |e| matches!(e, Error::NotificationsDisabled { .. }),
            &["disabled for resource type mapping 13", "DisableNotifications"]),
        (&client, a(seed::MAPPING_WITHOUT_NOTIFIED_EMAIL), seed::MAPPING_WITHOUT_NOTIFIED_EMAIL,
            |e| matches!(e, Error::NoNotifiedEmailBinding { .. }),
            &["resource type mapping 14 have no NotifiedEmailBinding"]),
        (&client, a(seed::MAPPING_BAD_BINDING_PATH), seed::MAPPING_BAD_BINDING_PATH,
            |e| matches!(e, Error::InvalidBinding { .. }),
            &["resource type mapping 19", "NotifiedEmailBinding", "invalid binding at character 6"]),
        (&client, a(seed::MAPPING_UNKNOWN_BINDING), seed::MAPPING_UNKNOWN_BINDING,
            |e| matches!(e, Error::BindingsRefused { .. }),
            &["settings 'UnknownBinding' (resource type mapping 16) for assigned resource type 1016",
              "unknown property PersonalMail on Directory_UserRecord"]),
        (&client, seed::MISSING_ART, seed::EXAMPLE_MAPPING,
            |e| matches!(e, Error::AssignedResourceTypeNotFound { .. }),
            &["assigned resource type 9999 was not found"]),
        (&client, seed::ART_OF_OTHER_RESOURCE_TYPE, seed::EXAMPLE_MAPPING,
            |e| matches!(e, Error::ResourceTypeMismatch { .. }),
            &["assigned resource type 1100 belongs to resource type 11, not to resource type mapping 10"]),
        (&client, seed::ART_MANAGER_WITHOUT_MAIL, seed::EXAMPLE_MAPPING,
            |e| matches!(e, Error::NoRecipientEmail { .. }),
            &["resolves to no email address for assigned resource type 1001", "Manager.MainRecord.Mail"]),
        (&client, seed::ART_WITHOUT_ORGANIZATION, seed::EXAMPLE_MAPPING,
            |e| matches!(e, Error::NoRecipientEmail { .. }),
            &["assigned resource type 1002"]),
        (&client, seed::ART_MANAGER_WITH_BAD_MAIL, seed::EXAMPLE_MAPPING,
            |e| matches!(e, Error::InvalidRecipientEmail { .. }),
            &["resolves to an invalid email address for assigned resource type 1003"]),
        (&strict, a(seed::MAPPING_WITHOUT_BENEFICIARY_NAME), seed::MAPPING_WITHOUT_BENEFICIARY_NAME,
            |e| matches!(e, Error::MissingBeneficiaryName { .. }),
            &["assigned resource type 1015", "resource type mapping 15", "policy requires it"]),
    ];
    for (client, a, m, is_expected, fragments) in table {
        let err = resolve(client, a, m, &[]).await.unwrap_err();
        let message = err.to_string();
        assert!(is_expected(&err), "art {a} mapping {m}: {err:?}");
        for fragment in fragments {
            assert!(message.contains(fragment), "art {a} mapping {m}: {message}");
        }
    }
    assert!(sink.mails().is_empty());
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn refused_credentials_name_the_client_and_the_server() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    for (id, secret) in [
        (seed::CLIENT_ID, "not-the-secret"),
        (seed::EXPIRED_CLIENT_ID, seed::EXPIRED_CLIENT_SECRET),
        ("Nobody", "whatever"),
    ] {
        let client = client_as(&sim, id, secret, PlanOptions::default());
        let err = resolve(&client, 1000, 10, &[]).await.unwrap_err();
        assert!(
            matches!(err, Error::AuthenticationRefused { .. }),
            "{id}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&format!("'{id}@127.0.0.1'")), "{message}");
        assert!(message.contains(&sim.base_url()), "{message}");
        assert!(!message.contains(secret), "{message}");
    }
    // The documented client and secret work (HashedSecret from the vendor's example).
    let doc = client_as(
        &sim,
        seed::DOC_CLIENT_ID,
        seed::DOC_CLIENT_SECRET,
        PlanOptions::default(),
    );
    resolve(&doc, 1000, 10, &[]).await.unwrap();
    // No API call was made with a refused client.
    let api_calls = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count();
    assert_eq!(api_calls, 3);
}

#[tokio::test]
async fn token_expiry_mid_run_refreshes_once() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let client = client(&sim);
    resolve(&client, 1000, 10, &[]).await.unwrap();
    assert_eq!(sim.tokens_issued(), 1);

    sim.expire_tokens();
    resolve(&client, 1000, 10, &[]).await.unwrap();
    assert_eq!(sim.tokens_issued(), 2);
    let refused: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.status == 401)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].bearer);
    assert_eq!(refused[0].route, SimRoute::ResourceTypeMapping);
}

#[tokio::test]
async fn every_api_request_had_a_bearer_and_api_version() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    resolve(&client(&sim), 1000, 10, &[]).await.unwrap();
    let requests = sim.requests();
    let routes: Vec<SimRoute> = requests.iter().map(|r| r.route).collect();
    assert_eq!(
        routes,
        [
            SimRoute::Discovery,
            SimRoute::Token,
            SimRoute::ResourceTypeMapping,
            SimRoute::PasswordResetSetting,
            SimRoute::AssignedResourceType
        ]
    );
    for r in requests.iter().filter(|r| r.path.starts_with("/api/")) {
        assert!(r.bearer, "{r:?}");
        assert_eq!(
            r.query_param("api-version").as_deref(),
            Some("1.0"),
            "{r:?}"
        );
        assert_eq!(r.status, 200, "{r:?}");
    }
}

#[tokio::test]
async fn transient_server_errors_are_retried_for_reads() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    sim.fail_next(SimRoute::AssignedResourceType, 503, 1);
    sim.fail_next(SimRoute::PasswordResetSetting, 429, 1);
    let plan = resolve(&client(&sim), 1000, 10, &[]).await.unwrap();
    assert_eq!(plan.recipient, email(seed::EXAMPLE_NOTIFIED_MAIL));
    let statuses: Vec<(SimRoute, u16)> = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.route, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (SimRoute::ResourceTypeMapping, 200),
            (SimRoute::PasswordResetSetting, 429),
            (SimRoute::PasswordResetSetting, 200),
            (SimRoute::AssignedResourceType, 503),
            (SimRoute::AssignedResourceType, 200),
        ]
    );

    // A server that keeps failing is reported with its status, after the retry budget.
    sim.fail_next(SimRoute::ResourceTypeMapping, 500, 100);
    let err = resolve(&client(&sim), 1000, 10, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::Upstream { status: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stopped_server_is_unreachable_within_the_connect_timeout() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let client = client(&sim);
    // A first plan leaves a pooled connection and a cached token behind.
    resolve(&client, 1000, 10, &[]).await.unwrap();
    let url = sim.base_url();
    sim.stop().await;
    assert!(
        std::net::TcpStream::connect(sim.addr()).is_err(),
        "the port still accepts"
    );

    let started = Instant::now();
    let err = resolve(&client, 1000, 10, &[]).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(
        elapsed < CONNECT_TIMEOUT + Duration::from_millis(500),
        "took {elapsed:?}"
    );

    // A fresh client (no token yet) fails the same way, at discovery.
    let started = Instant::now();
    let err = resolve(
        &client_as(
            &sim,
            seed::CLIENT_ID,
            seed::CLIENT_SECRET,
            PlanOptions::default(),
        ),
        1000,
        10,
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(started.elapsed() < CONNECT_TIMEOUT + Duration::from_millis(500));
}

#[tokio::test]
async fn a_slow_server_times_out_with_the_url() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let client = Client::builder(
        sim.base_url(),
        seed::CLIENT_ID,
        SecretString::from(seed::CLIENT_SECRET),
    )
    .timeout(Duration::from_millis(300))
    .retry_policy(RetryPolicy::none())
    .build()
    .unwrap();
    sim.set_latency(Duration::from_secs(2));
    let started = Instant::now();
    let err = resolve(&client, 1000, 10, &[]).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains(&sim.base_url()), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_disallowed_domain_is_refused_before_any_mail() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let mut settings = smtp_settings(&sink);
    settings.allowed_domains = vec!["acme.example".to_owned()];
    let mailer = Mailer::new(settings).unwrap();
    let plan = resolve(
        &client(&sim),
        1000,
        10,
        &[email("auditor@elsewhere.example")],
    )
    .await
    .unwrap();
    let err = send_notification(&mailer, &plan, password())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mail(passdesk_core::mail::Error::DomainNotAllowed { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("auditor@elsewhere.example"),
        "{err}"
    );
    assert!(sink.mails().is_empty());
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn mail_disabled_sends_nothing() {
    Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let mut settings = smtp_settings(&sink);
    settings.enabled = false;
    let plan = resolve(&client(&sim), 1000, 10, &[]).await.unwrap();
    let delivery = send_notification(&Mailer::new(settings).unwrap(), &plan, password())
        .await
        .unwrap();
    assert!(
        matches!(delivery, Delivery::Disabled { .. }),
        "{delivery:?}"
    );
    assert_eq!(delivery.to(), &email(seed::EXAMPLE_NOTIFIED_MAIL));
    assert!(sink.mails().is_empty());
    assert_eq!(sink.connections(), 0);
}

/// A full run and a handful of failures, with every tracing event captured at every level in
/// both formats: neither the password nor the client secret shows anywhere, and the mail holds
/// the password exactly once per part. The capture is the binary's global subscriber, so the
/// scan also covers whatever the other tests of this file logged until then.
#[tokio::test]
async fn secrets_appear_nowhere_but_once_in_each_mail_part() {
    let capture = Capture::global();
    let sim = IdentityManagerSim::start().await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let client = client(&sim);
    let mut texts = vec![format!("{client:?}")];

    let plan = resolve(&client, 1000, 10, &[email("helpdesk-lead@acme.example")])
        .await
        .unwrap();
    texts.push(format!("{plan:?} {plan}"));
    let delivery = send_notification(&smtp_mailer(&sink), &plan, password())
        .await
        .unwrap();
    texts.push(format!("{delivery:?} {delivery}"));

    // Failures on the way: expired token, server errors, refused credentials, a refused domain,
    // an unreachable server.
    sim.expire_tokens();
    sim.fail_next(SimRoute::AssignedResourceType, 503, 1);
    plan_and_keep(&client, 1000, 10, &mut texts).await;
    plan_and_keep(&client, 1001, 10, &mut texts).await;
    let wrong = client_as(
        &sim,
        seed::CLIENT_ID,
        "wrong-secret-value",
        PlanOptions::default(),
    );
    plan_and_keep(&wrong, 1000, 10, &mut texts).await;
    let mut restricted = smtp_settings(&sink);
    restricted.allowed_domains = vec!["elsewhere.example".to_owned()];
    let refused = send_notification(&Mailer::new(restricted).unwrap(), &plan, password()).await;
    texts.push(format!("{refused:?}"));
    sim.stop().await;
    plan_and_keep(&client, 1000, 10, &mut texts).await;

    assert!(
        capture.contains("identity_manager.request"),
        "spans were captured"
    );
    assert!(capture.contains("/api/ProvisioningPolicy/AssignedResourceType/{id}"));
    capture.assert_absent(PASSWORD, "password");
    capture.assert_absent(seed::CLIENT_SECRET, "client secret");
    for text in &texts {
        assert!(!contains_any_form(text, PASSWORD), "password in {text}");
        assert!(
            !contains_any_form(text, seed::CLIENT_SECRET),
            "client secret in {text}"
        );
    }

    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "only the full run mailed");
    assert_password_once_per_part(mails[0].message.as_ref().unwrap());
}

async fn plan_and_keep(client: &Client, a: i64, m: i64, texts: &mut Vec<String>) {
    match resolve(client, a, m, &[]).await {
        Ok(plan) => texts.push(format!("{plan:?}")),
        Err(e) => texts.push(format!("{e} {e:?}")),
    }
}

/// The simulator's own contract, as a raw HTTP client sees it.
mod sim_contract {
    use super::*;
    use serde_json::{Value, json};

    async fn token(sim: &IdentityManagerSim, client_id: &str, secret: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/connect/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "usercube_api"),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    #[tokio::test]
    async fn api_version_is_required_as_aspnet_answers() {
        Capture::global();
        let sim = IdentityManagerSim::start().await.unwrap();
        let (_, token) = token(&sim, "Passdesk@127.0.0.1", seed::CLIENT_SECRET).await;
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let url = format!(
            "{}/api/ProvisioningPolicy/AssignedResourceType/1000",
            sim.base_url()
        );
        let http = reqwest::Client::new();

        let response = http
            .get(&url)
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": {"code": "ApiVersionUnspecified", "message": "An API version is required, but was not specified."}})
        );
        let response = http
            .get(format!("{url}?api-version=1.0"))
            .header("Authorization", "Bearer not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let response = http
            .get(format!("{url}?api-version=1.0"))
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        // Without select, only the id.
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"Id": "1000"})
        );
    }

    #[tokio::test]
    async fn client_id_needs_the_host_suffix_and_tokens_last_as_configured() {
        Capture::global();
        let sim = IdentityManagerSim::start().await.unwrap();
        for client_id in [
            "Passdesk",
            "Passdesk@localhost",
            &format!("Passdesk@{}", sim.addr()),
        ] {
            let (status, body) = token(&sim, client_id, seed::CLIENT_SECRET).await;
            assert_eq!(
                (status, body),
                (400, json!({"error": "invalid_client"})),
                "{client_id}"
            );
        }
        sim.set_token_lifetime(Duration::from_secs(120));
        let (status, body) = token(&sim, "Passdesk@127.0.0.1", seed::CLIENT_SECRET).await;
        assert_eq!(status, 200);
        assert_eq!(body["expires_in"], 120);
        assert_eq!(body["token_type"], "Bearer");
    }

    #[tokio::test]
    async fn lists_are_paged_with_continuation_tokens() {
        Capture::global();
        let sim = IdentityManagerSim::start().await.unwrap();
        sim.set_page_size(4);
        let (_, token) = token(&sim, "Passdesk@127.0.0.1", seed::CLIENT_SECRET).await;
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let http = reqwest::Client::new();
        let mut ids = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let mut query = vec![
                ("api-version", "1.0".to_owned()),
                ("squery", "select Identifier".to_owned()),
            ];
            if let Some(t) = &continuation {
                query.push(("ContinuationToken", t.clone()));
            }
            let page: Value = http
                .get(format!(
                    "{}/api/Connectors/Mapping/ResourceTypeMapping",
                    sim.base_url()
                ))
                .query(&query)
                .header("Authorization", &bearer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            ids.extend(
                page["Result"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["Identifier"].clone()),
            );
            match page.get("ContinuationToken").and_then(Value::as_str) {
                Some(t) => continuation = Some(t.to_owned()),
                None => break,
            }
        }
        assert_eq!(ids.len(), 11);
        assert_eq!(ids[0], "AD_Entry_NominativeUser");
    }
}
