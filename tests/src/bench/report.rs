//! The Markdown report: a header with the date and the machine, one table, the notes, and links
//! to the charts.

use std::fmt::Write as _;

use super::machine::Machine;
use super::{Row, Section, Size, Verdict};

/// Renders the whole report.
pub fn markdown(date: &str, machine: &Machine, size: Size, sections: &[Section]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Run on {date}; machine: {machine}.");
    if size == Size::Smoke {
        let _ = writeln!(
            out,
            "\nSmoke size: each scenario ran once, tiny. The figures prove the harness works; \
             they are not measurements."
        );
    }
    out.push('\n');
    out.push_str(&table(sections.iter().flat_map(|s| s.rows.iter())));
    let notes: Vec<&String> = sections.iter().flat_map(|s| s.notes.iter()).collect();
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    let charts: Vec<_> = sections.iter().flat_map(|s| s.charts.iter()).collect();
    if !charts.is_empty() {
        out.push('\n');
        for chart in charts {
            let _ = writeln!(out, "![{}]({})\n", chart.caption, chart.file);
        }
    }
    out
}

/// The table alone.
pub fn table<'a>(rows: impl IntoIterator<Item = &'a Row>) -> String {
    let mut out = String::from("| scenario | parameters | result | target | verdict |\n");
    out.push_str("|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&row.scenario),
            cell(&row.params),
            cell(&row.result),
            cell(if row.target.is_empty() {
                "—"
            } else {
                &row.target
            }),
            row.verdict.as_str()
        );
    }
    out
}

/// How many rows missed their target.
pub fn failures(sections: &[Section]) -> usize {
    sections
        .iter()
        .flat_map(|s| s.rows.iter())
        .filter(|r| r.verdict == Verdict::Fail)
        .count()
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_escapes_pipes_and_counts_failures() {
        let section = Section {
            rows: vec![
                Row::new("a", "x|y", "1", "≥ 1", Verdict::Pass),
                Row::new("b", "", "0", "", Verdict::Fail),
            ],
            ..Section::default()
        };
        let text = table(&section.rows);
        assert!(text.contains("| a | x\\|y | 1 | ≥ 1 | pass |"), "{text}");
        assert!(text.contains("| b |  | 0 | — | FAIL |"), "{text}");
        assert_eq!(failures(&[section]), 1);
    }
}
