//! The demo environment as a demo user meets it: the seed the module docs promise, the vendor
//! examples answered through raw HTTP, `/sent` reflecting what was done, two environments side
//! by side, and a quick start.

// clippy.toml allows unwrap in #[test] functions only; the request helpers below are test code
// too, where a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use passdesk_sim::demo::{
    DemoEnvironment, GROUP_ADMINS, GROUP_ALL_STAFF, GROUP_CONTRACTORS, GROUP_IT, GROUP_NEW_USERS,
    GROUPS, SECOND_ORG_ID,
};
use passdesk_sim::jumpcloud::{MailKind, UserState, UserView};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A JumpCloud request with the demo's key (and no `x-org-id`, as a single-org key allows).
fn jc(env: &DemoEnvironment, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", env.jumpcloud_base_url()))
        .header("x-api-key", env.jumpcloud_api_key())
        .header("accept", "application/json")
}

/// `POST /api/search/systemusers` with these filter expressions; the usernames found.
async fn search_usernames(env: &DemoEnvironment, filter: Value) -> Vec<String> {
    let answer: Value = jc(env, reqwest::Method::POST, "/api/search/systemusers")
        .json(&json!({ "filter": filter, "fields": "username", "limit": 1000 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(answer["totalCount"], json!(names.len()));
    names.sort();
    names
}

fn days_ago(days: i64) -> String {
    (Utc::now() - chrono::Duration::days(days)).to_rfc3339()
}

fn acme_users(env: &DemoEnvironment) -> Vec<UserView> {
    env.jumpcloud
        .users()
        .into_iter()
        .filter(|user| user.org_id == env.org_id())
        .collect()
}

#[tokio::test]
async fn the_seed_has_the_users_states_and_groups_the_docs_promise() {
    let env = DemoEnvironment::start().await.unwrap();
    let users = acme_users(&env);
    assert_eq!(users.len(), 43, "the module docs list 43 users");
    assert!(
        users
            .iter()
            .all(|user| user.email.ends_with("@example.com"))
    );

    let count = |pred: &dyn Fn(&UserView) -> bool| users.iter().filter(|u| pred(u)).count();
    let pending = count(&|u| !u.activated && u.state == UserState::Activated);
    let active = count(&|u| u.activated && u.state == UserState::Activated);
    let suspended = count(&|u| u.state == UserState::Suspended);
    let staged = count(&|u| u.state == UserState::Staged);
    let locked = count(&|u| u.account_locked);
    let expired = count(&|u| u.password_expired);
    assert_eq!(
        (pending, active, suspended, staged, locked, expired),
        (18, 19, 4, 2, 5, 3),
        "(pending, active, suspended, staged, locked, password expired)"
    );

    let now = Utc::now();
    let created_within = |days: i64| {
        users
            .iter()
            .filter(|u| u.created > now - chrono::Duration::days(days))
            .count()
    };
    assert_eq!(created_within(7), 16);
    assert_eq!(created_within(2), 6);

    let jcuser = env.jumpcloud.user_by_username("jcuser.one").unwrap();
    assert!(
        !jcuser.activated,
        "jcuser.one stays pending, as in the vendor example"
    );

    let size = |name: &str| {
        let group = env.jumpcloud.group_by_name(name).unwrap();
        assert_eq!(group.org_id, env.org_id(), "{name} is in the demo org");
        group.member_ids.len()
    };
    let sizes: Vec<(&str, usize)> = GROUPS.iter().map(|name| (*name, size(name))).collect();
    assert_eq!(
        sizes,
        [
            (GROUP_NEW_USERS, 27),
            (GROUP_IT, 6),
            (GROUP_CONTRACTORS, 4),
            (GROUP_ADMINS, 3),
            (GROUP_ALL_STAFF, 39),
        ]
    );
    let admins: Vec<String> = env
        .jumpcloud
        .group_by_name(GROUP_ADMINS)
        .unwrap()
        .member_ids
        .iter()
        .map(|id| env.jumpcloud.user(id).unwrap().username)
        .collect();
    assert_eq!(admins, ["omar.haddad", "aisha.khan", "helen.clarke"]);

    let orgs: Vec<String> = env.jumpcloud.orgs().into_iter().map(|(id, _)| id).collect();
    assert_eq!(orgs, [env.org_id(), SECOND_ORG_ID]);
}

#[tokio::test]
async fn the_send_jc_password_reset_examples_find_their_users_over_http() {
    let env = DemoEnvironment::start().await.unwrap();

    // Get-JCUserGroupMember -GroupName NewUsers
    let groups = jc(
        &env,
        reqwest::Method::GET,
        "/api/v2/usergroups?filter=name:eq:NewUsers",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(groups.status(), 200);
    let groups: Value = groups.json().await.unwrap();
    let group_id = groups[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(groups.as_array().unwrap().len(), 1);
    let members = jc(
        &env,
        reqwest::Method::GET,
        &format!("/api/v2/usergroups/{group_id}/members?limit=100"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(members.headers()["x-total-count"], "27");
    assert_eq!(
        members
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        27
    );

    // Get-JCUser -activated $false, then created in the last 7 and 2 days.
    let not_activated = search_usernames(&env, json!([{ "activated": false }])).await;
    assert_eq!(not_activated.len(), 20, "{not_activated:?}");
    assert!(not_activated.contains(&"jcuser.one".to_owned()));
    assert!(
        not_activated.contains(&"alex.morgan".to_owned()),
        "staged users are not activated"
    );

    let last_week = search_usernames(
        &env,
        json!([{ "activated": false }, { "created": { "$gt": days_ago(7) } }]),
    )
    .await;
    assert_eq!(last_week.len(), 13, "{last_week:?}");

    let last_two_days = search_usernames(
        &env,
        json!([{ "activated": false }, { "created": { "$gt": days_ago(2) } }]),
    )
    .await;
    assert_eq!(
        last_two_days,
        [
            "ana.silva",
            "fatima.zahra",
            "grace.kim",
            "lucas.martin",
            "new.hire1",
            "new.hire2"
        ]
    );

    // Send-JCPasswordReset -username jcuser.one: the cmdlet looks the user up first.
    let found = search_usernames(&env, json!([{ "username": "jcuser.one" }])).await;
    assert_eq!(found, ["jcuser.one"]);
}

#[tokio::test]
async fn sent_shows_mails_and_expirations_made_over_http_and_the_org_rules() {
    let env = DemoEnvironment::start().await.unwrap();
    let before = env.sent();
    assert!(before.is_empty());
    let text = before.to_string();
    assert!(text.contains("JumpCloud activation mails: none"), "{text}");
    assert!(text.contains("Password notifications in"), "{text}");

    let id = |name: &str| env.jumpcloud.user_by_username(name).unwrap().id;
    let reactivate = jc(&env, reqwest::Method::POST, "/api/systemusers/reactivate")
        .json(&json!({
            "isSelectAll": false,
            "models": [{ "_id": id("jcuser.one") }, { "_id": id("jane.doe") }],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(reactivate.status(), 200);

    // Expire by id with an org id: the key's own org works, another org is not found.
    let expire = |org: &str| {
        jc(
            &env,
            reqwest::Method::POST,
            &format!("/api/systemusers/{}/expire", id("priya.patel")),
        )
        .header("x-org-id", org.to_owned())
        .header("content-type", "application/json")
        .send()
    };
    assert_eq!(expire(env.org_id()).await.unwrap().status(), 200);
    assert_eq!(expire(SECOND_ORG_ID).await.unwrap().status(), 404);

    let sent = env.sent();
    assert_eq!(sent.usernames(MailKind::Activation), ["jcuser.one"]);
    assert_eq!(sent.usernames(MailKind::Reset), ["jane.doe"]);
    assert_eq!(sent.expired_usernames(), ["priya.patel"]);
    let text = sent.to_string();
    for line in [
        "JumpCloud activation mails (1): jcuser.one",
        "JumpCloud reset mails (1): jane.doe",
        "JumpCloud password expirations (1): priya.patel",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

/// A notification as the Passdesk mailer writes it (lettre's `formatted()` into `<x>.eml`).
fn write_eml(
    dir: &std::path::Path,
    name: &str,
    to: &[&str],
    cc: &[&str],
    subject: &str,
    body: &str,
) {
    let mut builder = lettre::Message::builder()
        .from("passdesk-demo@acme.example".parse().unwrap())
        .subject(subject);
    for address in to {
        builder = builder.to(address.parse().unwrap());
    }
    for address in cc {
        builder = builder.cc(address.parse().unwrap());
    }
    let message = builder
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            body.to_owned(),
            format!("<p>{body}</p>"),
        ))
        .unwrap();
    std::fs::write(dir.join(name), message.formatted()).unwrap();
}

#[tokio::test]
async fn sent_lists_pickup_mails_by_recipient_and_subject_never_the_password() {
    let env = DemoEnvironment::start().await.unwrap();
    let password = "Pickup-Secret-7Hq2";
    write_eml(
        &env.pickup_dir,
        "0001.eml",
        &["grace.hopper@acme.example"],
        &["it-security@acme.example", "admin@acme.admin"],
        "New password for AD_Entry_NominativeUser – Ada Lovelace",
        &format!("Hello Grace, the new password is {password}"),
    );
    // A mail still being written, another file, and a file that is no mail.
    std::fs::write(
        env.pickup_dir.join("0002.eml.tmp"),
        "To: half@acme.example\r\n",
    )
    .unwrap();
    std::fs::write(env.pickup_dir.join("notes.txt"), "not a mail").unwrap();
    std::fs::write(env.pickup_dir.join("0003.eml"), "").unwrap();

    let sent = env.sent();
    assert_eq!(sent.notifications.len(), 1, "{sent:?}");
    let mail = &sent.notifications[0];
    assert_eq!(mail.to, ["grace.hopper@acme.example"]);
    assert_eq!(mail.cc, ["it-security@acme.example", "admin@acme.admin"]);
    assert_eq!(
        mail.subject, "New password for AD_Entry_NominativeUser – Ada Lovelace",
        "the encoded subject is decoded"
    );
    assert!(mail.written_at.is_some());
    assert_eq!(sent.unreadable, ["0003.eml"]);

    let text = sent.to_string();
    assert!(
        text.contains(
            "to grace.hopper@acme.example, cc it-security@acme.example, admin@acme.admin: \
             \"New password for AD_Entry_NominativeUser – Ada Lovelace\""
        ),
        "{text}"
    );
    assert!(text.contains("Unreadable pickup files: 0003.eml"), "{text}");
    assert!(!text.contains(password), "{text}");
    assert!(!format!("{sent:?}").contains(password));
    assert!(
        !text.contains("half@acme.example"),
        "in-progress files are skipped"
    );
}

/// A bearer token for the demo's Identity Manager client.
async fn im_token(env: &DemoEnvironment) -> String {
    let host = env.identity_manager.addr().ip().to_string();
    let answer: Value = http()
        .post(format!("{}/connect/token", env.identity_manager_uri()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "usercube_api"),
            ("client_id", &format!("{}@{host}", env.im_client_id())),
            ("client_secret", env.im_client_secret()),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn im_get(env: &DemoEnvironment, token: &str, path: &str, squery: &str) -> Value {
    let response = http()
        .get(format!("{}{path}", env.identity_manager_uri()))
        .query(&[("api-version", "1.0"), ("squery", squery)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path} {squery}");
    response.json().await.unwrap()
}

async fn settings_of_mapping(env: &DemoEnvironment, token: &str, mapping: i64) -> Value {
    let mapping = im_get(
        env,
        token,
        &format!("/api/Connectors/Mapping/ResourceTypeMapping/{mapping}"),
        "select Id, PasswordResetSettingId",
    )
    .await;
    let settings_id = mapping["PasswordResetSettingId"].as_str().unwrap();
    let list = im_get(
        env,
        token,
        "/api/Connectors/Mapping/PasswordResetSetting",
        &format!(
            "select Id, NotifiedEmailBinding, BeneficiaryFullNameBinding, NotificationCC \
             where Id = {settings_id}"
        ),
    )
    .await;
    list["Result"][0].clone()
}

#[tokio::test]
async fn the_identity_manager_example_resolves_in_allowed_domains_and_the_broken_mapping_shows() {
    let env = DemoEnvironment::start().await.unwrap();
    let token = im_token(&env).await;
    let domain_allowed = |address: &str| {
        let domain = address.rsplit_once('@').unwrap().1;
        env.allowed_domains()
            .iter()
            .any(|allowed| allowed == domain)
    };

    // --assigned-resource-type 1000 --resource-type-mapping 10
    let art = im_get(
        &env,
        &token,
        "/api/ProvisioningPolicy/AssignedResourceType/1000",
        "join Owner of type Directory_User o join o.MainRecord r join r.Organization g \
         join g.Manager m join m.MainRecord mr \
         select Id, RoleId, r.InternalDisplayName, mr.Mail, mr.InternalDisplayName",
    )
    .await;
    assert_eq!(art["RoleId"], "10", "{art}");
    let record = &art["Owner"]["MainRecord"];
    assert_eq!(record["InternalDisplayName"], "Ada Lovelace", "{art}");
    let manager = &record["Organization"]["Manager"]["MainRecord"];
    assert_eq!(manager["Mail"], "grace.hopper@acme.example", "{art}");

    let example = settings_of_mapping(&env, &token, 10).await;
    assert!(example["NotifiedEmailBinding"].is_string(), "{example}");
    assert!(
        example["BeneficiaryFullNameBinding"].is_string(),
        "{example}"
    );
    let settings_cc = example["NotificationCC"].as_str().unwrap();
    for address in ["grace.hopper@acme.example", settings_cc, "admin@acme.admin"] {
        assert!(
            domain_allowed(address),
            "{address} must be allowed in the demo"
        );
    }
    assert!(!domain_allowed("someone@gmail.com"));

    // The mapping whose settings lack a notified-email binding (ART 1014).
    let art = im_get(
        &env,
        &token,
        "/api/ProvisioningPolicy/AssignedResourceType/1014",
        "select Id, RoleId",
    )
    .await;
    assert_eq!(art["RoleId"], "14");
    let broken = settings_of_mapping(&env, &token, 14).await;
    assert!(
        broken["NotifiedEmailBinding"].is_null(),
        "no one to notify: {broken}"
    );
    assert!(broken["BeneficiaryFullNameBinding"].is_string(), "{broken}");
}

#[tokio::test]
async fn two_environments_run_side_by_side_without_sharing_anything() {
    let (a, b) = tokio::join!(DemoEnvironment::start(), DemoEnvironment::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.jumpcloud.addr(), b.jumpcloud.addr());
    assert_ne!(a.identity_manager.addr(), b.identity_manager.addr());
    assert_ne!(a.pickup_dir, b.pickup_dir);
    for env in [&a, &b] {
        assert!(env.jumpcloud.addr().ip().is_loopback());
        assert!(env.identity_manager.addr().ip().is_loopback());
    }

    let id = a.jumpcloud.user_by_username("jane.doe").unwrap().id;
    let done = jc(&a, reqwest::Method::POST, "/api/systemusers/reactivate")
        .json(&json!({ "isSelectAll": false, "models": [{ "_id": id }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    std::fs::write(
        a.pickup_dir.join("x.eml"),
        "To: a@acme.example\r\nSubject: s\r\n\r\n",
    )
    .unwrap();

    assert_eq!(a.sent().usernames(MailKind::Reset), ["jane.doe"]);
    assert_eq!(a.sent().notifications.len(), 1);
    assert!(b.sent().is_empty(), "b saw a's effects: {}", b.sent());
    let answered = jc(&b, reqwest::Method::GET, "/api/systemusers?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
}

#[tokio::test]
async fn dropping_the_environment_deletes_the_pickup_directory() {
    let env = DemoEnvironment::start().await.unwrap();
    let dir = env.pickup_dir.clone();
    assert!(dir.is_dir());
    drop(env);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[tokio::test]
async fn start_up_is_fast() {
    // The demo's budget is 300 ms from start to the first prompt in release; the simulators
    // must take a small part of it even in a debug build. The best of three absorbs a busy
    // machine's hiccup.
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let env = DemoEnvironment::start().await.unwrap();
        best = best.min(started.elapsed());
        drop(env);
    }
    assert!(
        best < Duration::from_millis(150),
        "the demo took {best:?} to start"
    );
}

#[tokio::test]
async fn creation_dates_are_relative_to_the_start() {
    let env = DemoEnvironment::start().await.unwrap();
    let ana = env.jumpcloud.user_by_username("ana.silva").unwrap();
    let age = Utc::now() - ana.created;
    assert!(
        age >= chrono::Duration::hours(6)
            && age < chrono::Duration::hours(6) + chrono::Duration::minutes(1),
        "ana.silva was created {age} ago"
    );
}
