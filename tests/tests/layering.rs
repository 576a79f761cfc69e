//! The one-way dependencies of the design (`../shared/DESIGN.md`, `../shared/STYLE.md`), checked on
//! the manifests so that a forbidden edge fails the build's tests the day it appears.
// Test helpers outside #[test] functions: a panic is a failed test with a clear location.
#![allow(clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
}

/// The names of a member's normal (non-dev) dependencies.
fn normal_dependencies(member: &str) -> BTreeSet<String> {
    let path = workspace_root().join(member).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names = BTreeSet::new();
    let mut collect = |table: Option<&toml::Value>| {
        if let Some(deps) = table.and_then(toml::Value::as_table) {
            names.extend(deps.keys().cloned());
        }
    };
    collect(manifest.get("dependencies"));
    collect(manifest.get("build-dependencies"));
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            collect(target.get("dependencies"));
        }
    }
    names
}

#[test]
fn forbidden_edges_are_absent() {
    // (member, dependencies it must never have, why)
    let rules: &[(&str, &[&str], &str)] = &[
        (
            "core",
            &[
                "passdesk-commands",
                "passdesk-config",
                "passdesk-bot",
                "passdesk-sim",
                "serenity",
                "axum",
            ],
            "core knows nothing of chat, config files or the simulators",
        ),
        (
            "commands",
            &["passdesk-bot", "passdesk-sim", "serenity", "axum"],
            "commands never names a chat platform and never uses a simulator",
        ),
        (
            "config",
            &[
                "passdesk-bot",
                "passdesk-commands",
                "passdesk-sim",
                "serenity",
                "axum",
                "reqwest",
            ],
            "config only reads a file and the environment",
        ),
        (
            "sim",
            &[
                "passdesk-core",
                "passdesk-commands",
                "passdesk-config",
                "passdesk-bot",
            ],
            "the simulators are built from the vendors' specs, independently of the clients they test",
        ),
    ];
    let mut violations = Vec::new();
    for (member, forbidden, why) in rules {
        let deps = normal_dependencies(member);
        for name in *forbidden {
            if deps.contains(*name) {
                violations.push(format!("{member} depends on {name}: {why}"));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn the_rules_read_real_manifests() {
    // Guards the test above against passing because it read nothing.
    assert!(normal_dependencies("core").contains("reqwest"));
    assert!(normal_dependencies("bot").contains("passdesk-commands"));
}

#[test]
fn members_inherit_workspace_versions_and_lints() {
    for member in ["core", "commands", "config", "bot", "sim", "tests"] {
        let path = workspace_root().join(member).join("Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let lints = manifest.get("lints").and_then(|l| l.get("workspace"));
        assert_eq!(
            lints.and_then(toml::Value::as_bool),
            Some(true),
            "{member}: [lints] workspace = true"
        );
        for table in ["dependencies", "dev-dependencies"] {
            let Some(deps) = manifest.get(table).and_then(toml::Value::as_table) else {
                continue;
            };
            for (name, spec) in deps {
                let inherited = spec
                    .get("workspace")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false);
                assert!(
                    inherited,
                    "{member}: {table}.{name} must be `{{ workspace = true }}` (versions live in the root)"
                );
            }
        }
    }
}
