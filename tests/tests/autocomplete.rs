//! Directory suggestions (`Engine::autocomplete`) end to end against the JumpCloud simulator
//! with the demo organisation: who gets suggestions, what they are, how fast, and how often
//! JumpCloud is asked while someone types.
// clippy.toml allows unwrap/expect in #[test] functions only; the helpers below are test code
// too, where a panic is a failed test with a clear location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use passdesk_commands::engine::{AUTOCOMPLETE_TIMEOUT, MAX_SUGGESTIONS};
use passdesk_commands::{Actor, Suggestion};
use passdesk_sim::jumpcloud::Route;
use passdesk_tests::engine::{
    HELPDESK, Harness, OTHER_CHANNEL, TEAM, group_member, jumpcloud_seed, outsider, requester,
};

/// `actor` types `partial` into `option` of `command` in `channel` of the served workspace.
async fn suggest(
    h: &Harness,
    actor: &Actor,
    channel: Option<&str>,
    command: &str,
    option: &str,
    partial: &str,
) -> Vec<Suggestion> {
    h.engine
        .autocomplete(actor, channel, Some(TEAM), command, option, partial)
        .await
}

fn names(suggestions: &[Suggestion]) -> Vec<&str> {
    suggestions.iter().map(|s| s.name.as_str()).collect()
}

/// How many directory look-ups JumpCloud has served so far.
fn lookups(h: &Harness) -> usize {
    h.jumpcloud.record().requests_to(Route::SearchUsers).len()
        + h.jumpcloud
            .record()
            .requests_to(Route::ListUserGroups)
            .len()
}

#[tokio::test]
async fn a_helpdesk_member_typing_a_username_gets_matching_users_to_pick() {
    let h = Harness::start(jumpcloud_seed()).await;
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "user", "jcu").await;
    assert_eq!(
        found,
        [Suggestion {
            name: "jcuser.one".into(),
            value: "jcuser.one".into()
        }]
    );
    // Case does not matter, and `expire` offers the same directory (to a member of the
    // helpdesk through its user group).
    let found = suggest(&h, &group_member(), Some(HELPDESK), "expire", "user", "J").await;
    assert_eq!(
        names(&found),
        ["jane.doe", "jcuser.one", "john.smith", "julia.weber"]
    );
    // Nothing typed yet: the first users by username, never more than Discord shows.
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "user", "").await;
    assert_eq!(found.len(), MAX_SUGGESTIONS);
    assert_eq!(
        names(&found)[..3],
        ["ahmed.nasser", "aisha.khan", "alex.morgan"]
    );
    assert!(names(&found).windows(2).all(|w| w[0] < w[1]), "{found:?}");
}

#[tokio::test]
async fn a_group_prefix_suggests_group_names() {
    let h = Harness::start(jumpcloud_seed()).await;
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "group", "New").await;
    assert_eq!(names(&found), ["NewUsers"]);
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "group", " a").await;
    assert_eq!(names(&found), ["Admins", "All Staff"], "case-insensitive");
    // "Staff" is inside "All Staff" but no group name starts with it.
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "group", "staff").await;
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn people_the_policy_refuses_get_nothing_and_the_directory_is_not_asked() {
    let h = Harness::start(jumpcloud_seed()).await;
    let before = lookups(&h);
    // Not in the helpdesk group.
    for (command, option, partial) in [
        ("reset", "user", "jcu"),
        ("reset", "group", "New"),
        ("expire", "user", ""),
    ] {
        let found = suggest(&h, &outsider(), Some(HELPDESK), command, option, partial).await;
        assert!(found.is_empty(), "{command} {option}: {found:?}");
    }
    // In the group, but where `reset` is not allowed, in a direct message, or in a workspace
    // Passdesk does not serve.
    let member = requester();
    for (channel, tenant) in [
        (Some(OTHER_CHANNEL), Some(TEAM)),
        (None, Some(TEAM)),
        (Some(HELPDESK), Some("T0UNKNOWN1")),
    ] {
        let found = h
            .engine
            .autocomplete(&member, channel, tenant, "reset", "user", "jcu")
            .await;
        assert!(found.is_empty(), "{channel:?} {tenant:?}: {found:?}");
    }
    assert_eq!(
        lookups(&h),
        before,
        "JumpCloud was asked on someone's behalf"
    );

    // The same member in the right place does get suggestions (the refusals were the policy's).
    let found = suggest(&h, &member, Some(HELPDESK), "reset", "user", "jcu").await;
    assert_eq!(names(&found), ["jcuser.one"]);
}

#[tokio::test]
async fn only_directory_options_autocomplete_and_filter_syntax_never_reaches_jumpcloud() {
    let h = Harness::start(jumpcloud_seed()).await;
    let member = requester();
    for (command, option, partial) in [
        ("reset", "dry-run", "t"),
        ("reset", "created-within-days", "1"),
        ("notify", "cc", "a"),
        ("help", "command", "r"),
        ("nope", "user", "j"),
        // Regex and filter syntax, and a user id being typed, are not the start of a username.
        ("reset", "user", "j.*"),
        ("reset", "user", "(?i)j"),
        ("reset", "user", "5f0c1a2b"),
        ("reset", "user", "$regex"),
    ] {
        let found = suggest(&h, &member, Some(HELPDESK), command, option, partial).await;
        assert!(found.is_empty(), "{command} {option}:{partial}: {found:?}");
    }
    assert_eq!(lookups(&h), 0);
}

#[tokio::test]
async fn fast_typing_asks_jumpcloud_once_and_later_keystrokes_come_from_the_cache() {
    let h = Harness::start(jumpcloud_seed()).await;
    let member = requester();
    let mut shown = Vec::new();
    for partial in ["j", "jc", "jcu", "jcus", "jcu", "jo"] {
        let found = suggest(&h, &member, Some(HELPDESK), "reset", "user", partial).await;
        shown.push(names(&found).join(","));
    }
    assert_eq!(
        shown,
        [
            "jane.doe,jcuser.one,john.smith,julia.weber",
            "jcuser.one",
            "jcuser.one",
            "jcuser.one",
            "jcuser.one",
            "john.smith",
        ]
    );
    assert_eq!(
        h.jumpcloud.record().requests_to(Route::SearchUsers).len(),
        1,
        "every longer prefix was answered from the first, complete, answer"
    );
    // Another directory is another look-up; repeating it is not.
    for _ in 0..3 {
        let found = suggest(&h, &member, Some(HELPDESK), "reset", "group", "IT").await;
        assert_eq!(names(&found), ["IT"]);
    }
    assert_eq!(
        h.jumpcloud
            .record()
            .requests_to(Route::ListUserGroups)
            .len(),
        1
    );
}

#[tokio::test]
async fn a_slow_directory_gives_no_suggestions_within_the_budget() {
    let h = Harness::start(jumpcloud_seed()).await;
    h.jumpcloud.set_latency(Duration::from_secs(4));
    let started = tokio::time::Instant::now();
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "user", "jcu").await;
    let took = started.elapsed();
    assert!(found.is_empty(), "{found:?}");
    assert!(took >= AUTOCOMPLETE_TIMEOUT, "{took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "Discord's 3-second window: {took:?}"
    );
    // Once JumpCloud is fast again, another prefix is answered at once.
    h.jumpcloud.set_latency(Duration::ZERO);
    let found = suggest(&h, &requester(), Some(HELPDESK), "reset", "user", "jan").await;
    assert_eq!(names(&found), ["jane.doe"]);
}
