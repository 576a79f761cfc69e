//! Scenario: bulk (being written).

use super::{BenchError, Ctx, Section};

/// Runs the scenario.
///
/// # Errors
///
/// The scenario could not run.
pub async fn run(ctx: &Ctx) -> Result<Section, BenchError> {
    let _ = ctx;
    Ok(Section::default())
}
