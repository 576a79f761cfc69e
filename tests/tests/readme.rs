//! The README's command reference must agree with the catalogue: every usage line the catalogue
//! generates is written in README.md, and every command line the README's reference lists is one
//! the catalogue generates.
// Test helpers outside #[test] functions: a panic is a failed test with a clear location.
#![allow(clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of the README's `## Commands` section that are inside its first code block.
fn reference_lines(readme: &str) -> BTreeSet<String> {
    let section = readme
        .split("\n## Commands\n")
        .nth(1)
        .expect("README.md has a `## Commands` section");
    let block = section
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the Commands section starts with a ```text block of usage lines");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn catalogue_lines() -> BTreeSet<String> {
    passdesk_commands::catalogue()
        .iter()
        .flat_map(|c| c.usage_lines())
        .collect()
}

#[test]
fn readme_command_reference_matches_the_catalogue() {
    let readme = readme();
    let written = reference_lines(&readme);
    let generated = catalogue_lines();
    let missing: Vec<_> = generated.difference(&written).collect();
    let stale: Vec<_> = written.difference(&generated).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "README.md `## Commands` disagrees with the catalogue.\nmissing from README: {missing:#?}\nnot in the catalogue: {stale:#?}\nthe catalogue's lines are:\n{}",
        generated.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn readme_describes_every_option_of_the_catalogue() {
    let readme = readme();
    let section = readme.split("\n## Commands\n").nth(1).unwrap_or_default();
    for command in passdesk_commands::catalogue() {
        let options = command
            .subcommands()
            .iter()
            .flat_map(|s| s.options.iter())
            .chain(command.options().iter());
        for option in options {
            assert!(
                section.contains(&format!("`{}`", option.name)),
                "README.md `## Commands` does not explain option `{}` of `{}`",
                option.name,
                command.name
            );
        }
    }
}
