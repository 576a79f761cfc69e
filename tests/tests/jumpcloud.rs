//! The JumpCloud client against the JumpCloud simulator, through real sockets on 127.0.0.1:
//! the look-ups, listings, mails and expirations a helpdesk member triggers, and every way the
//! upstream can refuse, fail or slow down.
//!
//! Every test installs the binary-wide tracing capture first, so the secret scan at the end
//! covers what every test logged.

// Test code: a panic in a helper is a failed test with a clear location, as in tests/src/lib.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use passdesk_core::jumpcloud::{
    Error, GroupName, JumpCloudClient, OrgId, ResetEmailKind, SystemUser, UserId, UserQuery,
    Username,
};
use passdesk_sim::jumpcloud::{
    Fault, GroupSeed, JumpCloudSim, MailKind, OrgSeed, RateLimit, Route, UserSeed, generated_users,
};
use passdesk_tests::jumpcloud::{
    KEY, ORG, OTHER_ORG, client_for, client_with_key, fast_retries, launch, raw_request, seed,
    user, user_id,
};
use passdesk_tests::trace::Capture;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// A key bound to both [`ORG`] and [`OTHER_ORG`], as a managed service provider holds.
const MSP_KEY: &str = "jc-e2e-msp-key-91c3e07a5d2b4f68-DO-NOT-LOG";

/// A 24-hex id no seeded user has.
const UNKNOWN_USER: &str = "5f0cffffffffffffffffffff";

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

fn name(raw: &str) -> Username {
    raw.parse().unwrap()
}

/// What the bot does with chat input: parse it into a [`Username`], then look it up.
async fn look_up(client: &JumpCloudClient, raw: &str) -> Result<SystemUser, Error> {
    let username: Username = raw.parse()?;
    client.user_by_username(&username).await
}

/// The usernames of `users`, sorted.
fn usernames(users: &[SystemUser]) -> BTreeSet<String> {
    users.iter().map(|u| u.username.clone()).collect()
}

/// The statuses the simulator answered on one route, oldest first.
fn statuses(sim: &JumpCloudSim, route: Route) -> Vec<Option<u16>> {
    sim.record()
        .requests_to(route)
        .iter()
        .map(|r| r.status)
        .collect()
}

/// How many users the simulator itself matches with the search body the client sent last:
/// the server-side filter must already be exact, not only the client's re-check.
async fn server_side_matches(sim: &JumpCloudSim) -> u64 {
    let sent = sim
        .record()
        .requests_to(Route::SearchUsers)
        .last()
        .and_then(|r| r.body_json())
        .expect("a search request with a JSON body");
    let reply = raw_request(
        sim,
        Method::POST,
        "/api/search/systemusers",
        KEY,
        None,
        Some(&sent),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["totalCount"].as_u64().expect("totalCount")
}

// ---------------------------------------------------------------------------------------------
// Look-ups by username: no filter injection, exact and case-insensitive, never a guess.

#[tokio::test]
async fn usernames_with_filter_syntax_are_refused_before_any_request() {
    Capture::global();
    let (sim, client) = launch(seed([user("jcuser"), user("jcuser.one")])).await;
    for raw in [
        ".*",
        "jcuser.*",
        "jcuser|admin",
        "^jcuser",
        "jcuser$",
        "(?i)jcuser",
        "jc[a-z]+",
        "jcuser\\",
        r#"{"$ne":null}"#,
        "jcuser one",
        "jcuser\n",
        "",
        "jcüser",
    ] {
        let err = look_up(&client, raw).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{raw:?}: {err:?}");
    }
    assert!(
        sim.record().requests().is_empty(),
        "an invalid username reached the simulator: {:?}",
        sim.record().requests()
    );
}

#[tokio::test]
async fn near_matches_and_prefixes_find_exactly_the_named_user() {
    Capture::global();
    let (sim, client) = launch(seed([
        user("jcuser"),
        user("jcuser.one"),
        user("jcuser.two"),
        user("xjcuser"),
        user("aXb"), // "a.b" unescaped would match this one
        user("c.d"),
        user("cYd"),
    ]))
    .await;

    // (typed, found)
    let found = [
        ("jcuser", "jcuser"),
        ("jcuser.one", "jcuser.one"),
        ("JCUser.One", "jcuser.one"),
        ("JCUSER", "jcuser"),
        ("c.d", "c.d"),
        ("cYd", "cYd"),
        ("cyd", "cYd"),
        ("aXb", "aXb"),
    ];
    for (typed, expected) in found {
        let got = look_up(&client, typed).await.unwrap();
        assert_eq!(got.username, expected, "looking up {typed:?}");
        assert_eq!(got.id, user_id(&sim, expected));
        assert_eq!(server_side_matches(&sim).await, 1, "{typed:?}");
    }

    for typed in [
        "a.b",
        "jcuser.on",
        "cuser",
        "jcuser.one.x",
        "jcuser_one",
        "c-d",
    ] {
        let err = look_up(&client, typed).await.unwrap_err();
        assert!(
            matches!(&err, Error::NotFound { .. }),
            "{typed:?} should find nobody: {err:?}"
        );
        assert_eq!(err.to_string(), format!("user named {typed} not found"));
        assert_eq!(server_side_matches(&sim).await, 0, "{typed:?}");
    }
    // One search per look-up (and one per replay): no retries, no other calls.
    let requests = sim.record().requests();
    assert_eq!(requests.len(), 2 * (found.len() + 6));
    assert!(requests.iter().all(|r| r.route == Some(Route::SearchUsers)));
}

#[tokio::test]
async fn usernames_differing_only_in_case_are_ambiguous() {
    Capture::global();
    let (sim, client) = launch(seed([user("jdoe"), user("jdoe2"), user("jdoe.x")])).await;
    // The seed refuses case twins, so make one after the start.
    let twin = sim.user_by_username("jdoe2").unwrap().id;
    sim.rename_user(&twin, "JDoe").unwrap();

    for typed in ["jdoe", "JDOE", "JDoe"] {
        let err = look_up(&client, typed).await.unwrap_err();
        match &err {
            Error::Ambiguous { count, .. } => assert_eq!(*count, 2, "{typed:?}"),
            other => panic!("{typed:?}: expected Ambiguous, got {other:?}"),
        }
        assert!(err.to_string().contains("refusing to guess"), "{err}");
    }
    // The near match next to them is still found on its own.
    assert_eq!(look_up(&client, "jdoe.x").await.unwrap().username, "jdoe.x");
    assert!(sim.record().mails().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Listings: pagination to exhaustion, stable sort, group members.

#[tokio::test]
async fn over_a_thousand_pending_users_are_listed_exactly_once() {
    Capture::global();
    let (sim, client) = launch(
        seed([])
            .users(generated_users("pending", 1203).map(UserSeed::pending))
            .users(generated_users("active", 150)),
    )
    .await;

    let users = client.users_not_activated(None).await.unwrap();

    assert_eq!(users.len(), 1203);
    let ids: BTreeSet<&UserId> = users.iter().map(|u| &u.id).collect();
    assert_eq!(ids.len(), 1203, "a user was returned twice");
    let names = usernames(&users);
    let expected: BTreeSet<String> = (0..1203).map(|i| format!("pending.{i:04}")).collect();
    assert_eq!(names, expected);
    assert!(users.iter().all(|u| !u.activated));

    // 100 a page: 13 pages, each sorted by _id, at consecutive offsets.
    let pages = sim.record().requests_to(Route::SearchUsers);
    assert_eq!(pages.len(), 13);
    for (i, page) in pages.iter().enumerate() {
        let body = page.body_json().unwrap();
        assert_eq!(body["sort"], "_id", "page {i}");
        assert_eq!(body["skip"], json!(i * 100), "page {i}");
        assert_eq!(body["limit"], 100, "page {i}");
        assert_eq!(page.status, Some(200));
    }
}

#[tokio::test]
async fn not_activated_since_a_date_lists_only_pending_users_created_after_it() {
    Capture::global();
    let boundary = at(2026, 11, 15, 8);
    let (_sim, client) = launch(seed([
        user("before.pending")
            .pending()
            .created(at(2026, 11, 14, 8)),
        user("at.boundary").pending().created(boundary),
        user("after.pending").pending().created(at(2026, 11, 15, 9)),
        user("later.pending").pending().created(at(2026, 12, 1, 0)),
        user("after.active").active().created(at(2026, 11, 16, 0)),
        user("before.active").active().created(at(2026, 1, 1, 0)),
    ]))
    .await;

    let since = client.users_not_activated(Some(boundary)).await.unwrap();
    assert_eq!(
        usernames(&since),
        BTreeSet::from(["after.pending".to_owned(), "later.pending".to_owned()]),
        "strictly after the boundary, pending only"
    );
    assert!(since.iter().all(|u| u.created.unwrap() > boundary));

    let all_pending = client.users_not_activated(None).await.unwrap();
    assert_eq!(all_pending.len(), 4);

    let active_before = client
        .users(&UserQuery {
            activated: Some(true),
            created_before: Some(boundary),
            ..UserQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        usernames(&active_before),
        BTreeSet::from(["before.active".to_owned()])
    );
}

#[tokio::test]
async fn a_250_member_group_yields_every_member_and_resolves_them() {
    Capture::global();
    let (sim, client) = launch(
        seed([])
            .users(generated_users("staff", 300))
            .group(GroupSeed::new("All Hands").members((0..250).map(|i| format!("staff.{i:04}"))))
            .group(GroupSeed::new("All Hands (old)").members(["staff.0299"])),
    )
    .await;

    let group = client
        .group_by_name(&"All Hands".parse::<GroupName>().unwrap())
        .await
        .unwrap();
    assert_eq!(group.name, "All Hands");
    let expected_ids: Vec<String> = sim.group_by_name("All Hands").unwrap().member_ids;

    let ids = client.group_members(&group).await.unwrap();
    let got: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    assert_eq!(got, expected_ids, "all 250 members, each once, in order");
    assert_eq!(
        statuses(&sim, Route::ListUserGroupMembers),
        vec![Some(200); 3],
        "100 + 100 + 50"
    );

    let resolved = client.group_member_users(&group).await.unwrap();
    assert!(resolved.missing.is_empty());
    assert_eq!(resolved.users.len(), 250);
    let resolved_ids: Vec<String> = resolved.users.iter().map(|u| u.id.to_string()).collect();
    assert_eq!(resolved_ids, expected_ids);
    assert_eq!(
        usernames(&resolved.users),
        (0..250).map(|i| format!("staff.{i:04}")).collect()
    );
}

#[tokio::test]
async fn a_530_member_group_is_complete_even_when_a_page_comes_back_short() {
    Capture::global();
    let (sim, client) = launch(
        seed([])
            .users(generated_users("member", 530))
            .group(GroupSeed::new("Big").members((0..530).map(|i| format!("member.{i:04}")))),
    )
    .await;
    let group = client.group_by_name(&"Big".parse().unwrap()).await.unwrap();
    let expected = sim.group_by_name("Big").unwrap().member_ids;

    let ids = client.group_members(&group).await.unwrap();
    assert_eq!(ids.len(), 530);
    assert_eq!(
        ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        sim.record().requests_to(Route::ListUserGroupMembers).len(),
        6
    );

    // The vendor's 199-of-530 shape: a first page of 99 that still announces 530. A client
    // trusting the short page would stop at 99 members.
    sim.record().clear();
    let short_page: Vec<Value> = expected[..99]
        .iter()
        .map(|id| json!({"attributes": null, "to": {"attributes": null, "id": id, "type": "user"}}))
        .collect();
    sim.inject(
        Fault::status(Route::ListUserGroupMembers, 200)
            .with_body(Value::Array(short_page))
            .with_header("x-total-count", "530"),
    );
    let ids = client.group_members(&group).await.unwrap();
    assert_eq!(
        ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
        expected,
        "every member exactly once after a short page"
    );
    let skips: Vec<String> = sim
        .record()
        .requests_to(Route::ListUserGroupMembers)
        .iter()
        .map(|r| {
            r.query_pairs()
                .into_iter()
                .find(|(k, _)| k == "skip")
                .map(|(_, v)| v)
                .unwrap()
        })
        .collect();
    assert_eq!(skips, ["0", "99", "199", "299", "399", "499"]);
}

// ---------------------------------------------------------------------------------------------
// The two operations.

#[tokio::test]
async fn reset_email_sends_activation_to_pending_and_reset_to_active_users() {
    Capture::global();
    let (sim, client) = launch(seed([
        user("jcuser.one").pending(),
        user("jane.doe").active(),
        user("sam.taylor").suspended(),
    ]))
    .await;

    let pending = look_up(&client, "jcuser.one").await.unwrap();
    let sent = client.send_reset_email(&pending).await.unwrap();
    assert_eq!(sent.kind, ResetEmailKind::Activation);
    assert_eq!(sent.user_id, pending.id);
    let mails = sim.record().mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, MailKind::Activation);
    assert_eq!(mails[0].user_id, pending.id.as_str());
    assert_eq!(mails[0].email, "jcuser.one@example.com");

    let active = look_up(&client, "jane.doe").await.unwrap();
    let sent = client.send_reset_email(&active).await.unwrap();
    assert_eq!(sent.kind, ResetEmailKind::Reset);
    let mails = sim.record().mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].kind, MailKind::Reset);
    assert_eq!(mails[1].user_id, active.id.as_str());

    // Exactly the cmdlet's request, once per user.
    let sent: Vec<Value> = sim
        .record()
        .requests_to(Route::ReactivateUsers)
        .iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    assert_eq!(
        sent,
        [
            json!({"isSelectAll": false, "models": [{"_id": pending.id.as_str()}]}),
            json!({"isSelectAll": false, "models": [{"_id": active.id.as_str()}]}),
        ]
    );

    // A suspended user gets no mail, and the refusal is not retried.
    let suspended = look_up(&client, "sam.taylor").await.unwrap();
    let err = client.send_reset_email(&suspended).await.unwrap_err();
    assert!(
        matches!(err, Error::Upstream { status: 409, .. }),
        "{err:?}"
    );
    assert_eq!(sim.record().mails().len(), 2);
    assert_eq!(sim.record().requests_to(Route::ReactivateUsers).len(), 3);
}

#[tokio::test]
async fn expire_password_expires_it_once_and_unknown_ids_are_not_found() {
    Capture::global();
    let (sim, client) = launch(seed([user("priya.patel"), user("omar.haddad")])).await;
    let id = user_id(&sim, "priya.patel");
    assert!(!sim.user(id.as_str()).unwrap().password_expired);

    let outcome = client.expire_password(&id).await.unwrap();
    assert!(outcome.pass_thru());
    assert_eq!(outcome.to_string(), "true");
    assert_eq!(outcome.user_id, id);
    assert!(sim.user(id.as_str()).unwrap().password_expired);
    assert!(
        !sim.user_by_username("omar.haddad")
            .unwrap()
            .password_expired
    );
    let expirations = sim.record().expirations();
    assert_eq!(expirations.len(), 1);
    assert_eq!(expirations[0].user_id, id.as_str());
    assert_eq!(expirations[0].username, "priya.patel");
    // The client now reads the user as expired too.
    assert!(client.user_by_id(&id).await.unwrap().password_expired);

    let unknown: UserId = UNKNOWN_USER.parse().unwrap();
    let err = client.expire_password(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("user {UNKNOWN_USER} not found"));
    assert_eq!(sim.record().expirations().len(), 1);
    assert_eq!(
        statuses(&sim, Route::ExpirePassword),
        [Some(200), Some(404)],
        "a 404 is not retried"
    );
}

// ---------------------------------------------------------------------------------------------
// Keys and organisations.

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_retried() {
    Capture::global();
    let (sim, _client) = launch(seed([user("jane.doe")])).await;
    let wrong = client_with_key(&sim, "jc-e2e-wrong-key-0000")
        .build()
        .unwrap();

    let err = wrong
        .user_by_id(&user_id(&sim, "jane.doe"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    assert_eq!(
        err.to_string(),
        "jumpcloud refused the api key (401 unauthorized)"
    );
    assert_eq!(statuses(&sim, Route::GetUser), [Some(401)]);
    assert_eq!(sim.record().requests().len(), 1);
}

/// [`ORG`] ("Acme") and [`OTHER_ORG`] ("Globex"), [`KEY`] for Acme only, [`MSP_KEY`] for both;
/// `shared.name` exists in both organisations.
async fn two_tenants() -> JumpCloudSim {
    seed([
        user("acme.pending").pending(),
        user("acme.active"),
        user("shared.name"),
        user("globex.pending").pending().org(OTHER_ORG),
        user("shared.name").org(OTHER_ORG),
    ])
    .org(OrgSeed::new(OTHER_ORG, "Globex"))
    .api_key(MSP_KEY, [ORG, OTHER_ORG])
    .start()
    .await
    .unwrap()
}

#[tokio::test]
async fn organisation_ids_missing_malformed_and_unknown_are_told_apart() {
    Capture::global();
    let sim = two_tenants().await;
    let some_id = sim
        .user_in_org(ORG, "acme.active")
        .unwrap()
        .id
        .parse::<UserId>()
        .unwrap();

    // Missing: the key administers two organisations and none is configured.
    let msp = client_with_key(&sim, MSP_KEY).build().unwrap();
    let err = msp.user_by_id(&some_id).await.unwrap_err();
    assert!(matches!(err, Error::OrgRequired), "{err:?}");
    assert!(
        err.to_string().contains("configure an organisation id"),
        "{err}"
    );
    assert_eq!(statuses(&sim, Route::GetUser), [Some(401)], "not retried");

    // Malformed: the client's type refuses it before anything is sent…
    sim.record().clear();
    for malformed in [
        "acme",
        "5A1B2C3D4E5F6A7B8C9D0E1F",
        "5a1b2c3d4e5f6a7b8c9d0e1",
        "5a1b-2c3d",
    ] {
        let err = malformed.parse::<OrgId>().unwrap_err();
        assert_eq!(err.what(), "organisation id", "{malformed:?}");
    }
    assert!(sim.record().requests().is_empty());
    // …and the simulator answers 400 to one sent anyway, which the client would report as
    // OrgMalformed (its classification table covers that answer).
    let reply = raw_request(
        &sim,
        Method::GET,
        &format!("/api/systemusers/{some_id}"),
        MSP_KEY,
        Some("acme"),
        None,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("organization"),
        "{}",
        reply.body
    );

    // Unknown: well formed, but not an organisation this key administers.
    sim.record().clear();
    let stranger: OrgId = "5a1b2c3d4e5f6a7b8c9d0e99".parse().unwrap();
    let lost = client_with_key(&sim, MSP_KEY)
        .org_id(stranger)
        .build()
        .unwrap();
    let err = lost.user_by_id(&some_id).await.unwrap_err();
    assert!(matches!(err, Error::UnknownOrg { .. }), "{err:?}");
    let err = lost.users_not_activated(None).await.unwrap_err();
    assert!(matches!(err, Error::UnknownOrg { .. }), "{err:?}");
    // A single-organisation key naming another organisation is just as unknown.
    let other: OrgId = OTHER_ORG.parse().unwrap();
    let acme_key_elsewhere = client_for(&sim).org_id(other).build().unwrap();
    let err = acme_key_elsewhere
        .expire_password(&some_id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownOrg { .. }), "{err:?}");
    assert!(sim.record().expirations().is_empty());
    assert_eq!(
        sim.record().requests().len(),
        3,
        "each refusal is one request, not retried"
    );
}

#[tokio::test]
async fn an_organisation_scoped_key_sees_only_its_own_tenant() {
    Capture::global();
    let sim = two_tenants().await;
    let acme = client_for(&sim).build().unwrap();
    let globex_pending: UserId = sim
        .user_in_org(OTHER_ORG, "globex.pending")
        .unwrap()
        .id
        .parse()
        .unwrap();

    let everyone = acme.users(&UserQuery::default()).await.unwrap();
    assert_eq!(
        usernames(&everyone),
        BTreeSet::from([
            "acme.active".to_owned(),
            "acme.pending".to_owned(),
            "shared.name".to_owned()
        ])
    );
    let pending = acme.users_not_activated(None).await.unwrap();
    assert_eq!(
        usernames(&pending),
        BTreeSet::from(["acme.pending".to_owned()])
    );

    // The same username resolves to this tenant's user.
    let shared = look_up(&acme, "shared.name").await.unwrap();
    assert_eq!(
        shared.id.as_str(),
        sim.user_in_org(ORG, "shared.name").unwrap().id
    );
    // The other tenant's users cannot be found, mailed or expired, by name or by id.
    assert!(matches!(
        look_up(&acme, "globex.pending").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        acme.user_by_id(&globex_pending).await,
        Err(Error::NotFound { .. })
    ));
    let err = acme.expire_password(&globex_pending).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let stranger = SystemUser::new(globex_pending.clone(), "globex.pending");
    let err = acme.send_reset_email(&stranger).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(sim.record().mails().is_empty());
    assert!(sim.record().expirations().is_empty());

    // The provider's key, told which organisation, sees that one only.
    let globex = client_with_key(&sim, MSP_KEY)
        .org_id(OTHER_ORG.parse().unwrap())
        .build()
        .unwrap();
    let everyone = globex.users(&UserQuery::default()).await.unwrap();
    assert_eq!(
        usernames(&everyone),
        BTreeSet::from(["globex.pending".to_owned(), "shared.name".to_owned()])
    );
    let shared = look_up(&globex, "shared.name").await.unwrap();
    assert_eq!(
        shared.id.as_str(),
        sim.user_in_org(OTHER_ORG, "shared.name").unwrap().id
    );
    // A user id of the other tenant, with the organisation header set: still "not found", not
    // "unknown organisation".
    let acme_user = sim.user_in_org(ORG, "acme.pending").unwrap();
    let acme_user = SystemUser::new(acme_user.id.parse().unwrap(), acme_user.username);
    let err = globex.send_reset_email(&acme_user).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = globex.expire_password(&acme_user.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(sim.record().mails().is_empty());

    // Every request carried the organisation it was meant for.
    let globex_requests: Vec<_> = sim
        .record()
        .requests()
        .into_iter()
        .filter(|r| r.api_key.as_deref() == Some(MSP_KEY))
        .collect();
    assert!(!globex_requests.is_empty());
    assert!(
        globex_requests
            .iter()
            .all(|r| r.org_id.as_deref() == Some(OTHER_ORG))
    );
    assert!(
        sim.record()
            .requests()
            .iter()
            .filter(|r| r.api_key.as_deref() == Some(KEY))
            .all(|r| !r.org_id_sent())
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits and failures.

/// 20 look-ups at once; returns how long they took.
async fn twenty_lookups(client: &JumpCloudClient) -> Duration {
    let started = Instant::now();
    let mut lookups = JoinSet::new();
    for i in 0..20 {
        let client = client.clone();
        lookups.spawn(async move {
            let wanted = format!("bulk.{i:04}");
            let found = client.user_by_username(&name(&wanted)).await;
            (wanted, found)
        });
    }
    while let Some(joined) = lookups.join_next().await {
        let (wanted, found) = joined.unwrap();
        match found {
            Ok(user) => assert_eq!(user.username, wanted),
            Err(e) => panic!("look-up of {wanted} failed under the rate limit: {e:?}"),
        }
    }
    started.elapsed()
}

#[tokio::test]
async fn rate_limits_with_retry_after_are_waited_out() {
    Capture::global();
    let sim = seed([])
        .users(generated_users("bulk", 20))
        .rate_limit(RateLimit::per_second(5))
        .start()
        .await
        .unwrap();
    let client = client_for(&sim)
        .retry(fast_retries().with_max_attempts(6))
        .build()
        .unwrap();

    let elapsed = twenty_lookups(&client).await;

    let statuses = statuses(&sim, Route::SearchUsers);
    let ok = statuses.iter().filter(|s| **s == Some(200)).count();
    let limited = statuses.iter().filter(|s| **s == Some(429)).count();
    assert_eq!(ok, 20);
    assert_eq!(ok + limited, statuses.len(), "{statuses:?}");
    // 5 a second: 15 wait for the second window, 10 for the third, 5 for the fourth. A client
    // that retried before `Retry-After` ran out would meet more 429s (or run out of attempts).
    assert!(limited >= 15, "the limit was not hit: {statuses:?}");
    assert!(
        limited <= 30,
        "retried before Retry-After: {limited} answers were 429"
    );
    assert!(
        elapsed >= Duration::from_secs(3),
        "four windows of 5 take at least 3 s, took {elapsed:?}"
    );
}

#[tokio::test]
async fn rate_limits_without_retry_after_are_backed_off() {
    Capture::global();
    let sim = seed([])
        .users(generated_users("bulk", 20))
        .rate_limit(RateLimit::per_second(5).without_retry_after())
        .start()
        .await
        .unwrap();
    // Without Retry-After the client's own backoff (here at most 250 ms) must outlast the
    // window: enough attempts to cover three seconds.
    let client = client_for(&sim)
        .retry(
            fast_retries()
                .with_max_attempts(60)
                .with_max_delay(Duration::from_millis(250)),
        )
        .build()
        .unwrap();

    let elapsed = twenty_lookups(&client).await;

    let statuses = statuses(&sim, Route::SearchUsers);
    let limited = statuses.iter().filter(|s| **s == Some(429)).count();
    assert_eq!(statuses.iter().filter(|s| **s == Some(200)).count(), 20);
    assert!(limited >= 15, "the limit was not hit: {statuses:?}");
    assert!(
        elapsed >= Duration::from_secs(3),
        "four windows of 5 take at least 3 s, took {elapsed:?}"
    );
}

#[tokio::test]
async fn server_errors_on_reads_are_retried_within_bounds() {
    Capture::global();
    let (sim, client) = launch(seed([user("jane.doe")])).await;
    let id = user_id(&sim, "jane.doe");

    sim.inject(Fault::status(Route::GetUser, 503).times(2));
    let jane = client.user_by_id(&id).await.unwrap();
    assert_eq!(jane.username, "jane.doe");
    assert_eq!(
        statuses(&sim, Route::GetUser),
        [Some(503), Some(503), Some(200)]
    );

    // An outage longer than the policy allows ends in an error after max_attempts tries.
    sim.record().clear();
    sim.inject(Fault::status(Route::GetUser, 502).times(10));
    let err = client.user_by_id(&id).await.unwrap_err();
    assert!(
        matches!(err, Error::Upstream { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(
        sim.record().requests_to(Route::GetUser).len(),
        fast_retries().max_attempts() as usize
    );
}

#[tokio::test]
async fn a_reset_email_that_may_have_been_sent_is_never_resent() {
    Capture::global();
    let (sim, client) = launch(seed([user("jcuser.one").pending(), user("jane.doe")])).await;
    let pending = look_up(&client, "jcuser.one").await.unwrap();

    // A 500: JumpCloud may have mailed; the client must not mail again.
    sim.inject(Fault::status(Route::ReactivateUsers, 500).times(3));
    let err = client.send_reset_email(&pending).await.unwrap_err();
    assert!(
        matches!(err, Error::SentButUnknown { status: Some(500) }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not resent"), "{err}");
    assert_eq!(statuses(&sim, Route::ReactivateUsers), [Some(500)]);
    assert!(sim.record().mails().is_empty());
    sim.clear_faults();

    // A connection dropped after the request went out: unknown as well, and sent once.
    sim.record().clear();
    sim.inject(Fault::drop_connection(Route::ReactivateUsers).times(3));
    let err = client.send_reset_email(&pending).await.unwrap_err();
    assert!(
        matches!(err, Error::SentButUnknown { status: None }),
        "{err:?}"
    );
    let sent = sim.record().requests_to(Route::ReactivateUsers);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].dropped);
    assert!(sim.record().mails().is_empty());
    sim.clear_faults();

    // A 429 means JumpCloud did not act: resent after Retry-After, and mailed exactly once.
    sim.record().clear();
    sim.inject(Fault::status(Route::ReactivateUsers, 429).with_header("retry-after", "0"));
    let sent = client.send_reset_email(&pending).await.unwrap();
    assert_eq!(sent.kind, ResetEmailKind::Activation);
    assert_eq!(
        statuses(&sim, Route::ReactivateUsers),
        [Some(429), Some(200)]
    );
    let mails = sim.record().mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].user_id, pending.id.as_str());
}

#[tokio::test]
async fn expiring_a_password_is_retried_after_a_server_error_or_a_lost_answer() {
    Capture::global();
    let (sim, client) = launch(seed([user("priya.patel"), user("omar.haddad")])).await;

    let priya = user_id(&sim, "priya.patel");
    sim.inject(Fault::status(Route::ExpirePassword, 503));
    let outcome = client.expire_password(&priya).await.unwrap();
    assert!(outcome.pass_thru());
    assert_eq!(
        statuses(&sim, Route::ExpirePassword),
        [Some(503), Some(200)]
    );
    assert!(sim.user(priya.as_str()).unwrap().password_expired);
    assert_eq!(sim.record().expirations().len(), 1);

    sim.record().clear();
    let omar = user_id(&sim, "omar.haddad");
    sim.inject(Fault::drop_connection(Route::ExpirePassword));
    assert!(client.expire_password(&omar).await.unwrap().pass_thru());
    assert_eq!(statuses(&sim, Route::ExpirePassword), [None, Some(200)]);
    assert!(sim.user(omar.as_str()).unwrap().password_expired);
    assert_eq!(sim.record().expirations().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tracing.

#[tokio::test]
async fn spans_carry_the_route_but_never_the_key_or_the_query() {
    let capture = Capture::global();
    let (sim, client) = launch(seed([
        user("jcuser.one").pending().in_group("New Hires & Co"),
        user("jane.doe").in_group("New Hires & Co"),
    ]))
    .await;

    let group = client
        .group_by_name(&"New Hires & Co".parse().unwrap())
        .await
        .unwrap();
    let members = client.group_member_users(&group).await.unwrap();
    assert_eq!(members.users.len(), 2);
    let pending = look_up(&client, "jcuser.one").await.unwrap();
    sim.inject(Fault::status(Route::ExpirePassword, 503));
    client.send_reset_email(&pending).await.unwrap();
    client.expire_password(&pending.id).await.unwrap();
    let wrong = client_with_key(&sim, "jc-e2e-wrong-key-5e8d1f-DO-NOT-LOG")
        .build()
        .unwrap();
    assert!(wrong.user_by_id(&pending.id).await.is_err());

    let text = capture.text();
    // The calls were traced: their spans, route templates and attempts are there…
    for expected in [
        "jumpcloud.request",
        "jumpcloud.group_by_name",
        "jumpcloud.send_reset_email",
        "jumpcloud.expire_password",
        "/api/systemusers/{id}/expire",
        "/api/v2/usergroups/{group_id}/members",
        "/api/search/systemusers",
        "attempt",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} is missing from the trace"
        );
    }
    // …but no key (the right one, the wrong one, the provider's), no query string, no body.
    capture.assert_absent(KEY, "api key");
    capture.assert_absent("jc-e2e-wrong-key-5e8d1f-DO-NOT-LOG", "wrong api key");
    capture.assert_absent(MSP_KEY, "provider api key");
    for leaked in [
        "filter=name",
        "limit=100",
        "skip=0",
        "isSelectAll",
        "$regex",
    ] {
        assert!(!text.contains(leaked), "{leaked:?} appears in the trace");
    }
}
