//! `ack-latency.svg`: p50 and p99 acknowledgement latency against the offered load, one pair
//! of lines per platform, both axes logarithmic, with the 10 ms target as a horizontal line.

use plotters::prelude::*;

/// One platform's points: (offered req/s, p50 ms, p99 ms).
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    /// `Discord` or `Slack`.
    pub platform: &'static str,
    /// (offered req/s, p50 ms, p99 ms), by offered load.
    pub points: Vec<(f64, f64, f64)>,
}

/// The target line, ms.
const TARGET_MS: f64 = 10.0;

/// The colours of a platform's p50 and p99 lines.
fn colours(i: usize) -> (RGBColor, RGBColor) {
    match i {
        0 => (RGBColor(120, 160, 230), RGBColor(20, 60, 170)),
        _ => (RGBColor(240, 170, 90), RGBColor(190, 40, 30)),
    }
}

/// Renders the chart as an SVG document.
///
/// # Errors
///
/// Nothing to draw, or plotters failed.
pub(crate) fn ack_latency(curves: &[Curve]) -> Result<String, String> {
    let points = || curves.iter().flat_map(|c| c.points.iter());
    let (mut x_min, mut x_max) = (f64::MAX, f64::MIN);
    let (mut y_min, mut y_max) = (TARGET_MS, TARGET_MS);
    for (x, p50, p99) in points() {
        x_min = x_min.min(*x);
        x_max = x_max.max(*x);
        y_min = y_min.min(p50.min(*p99));
        y_max = y_max.max(p50.max(*p99));
    }
    if x_min > x_max {
        return Err("no points to draw".to_owned());
    }
    let x_range = (x_min / 1.5)..(x_max * 1.5);
    let y_range = (y_min / 2.0).max(0.01)..(y_max * 2.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Interaction ack latency vs offered load (open loop)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range.clone().log_scale(), y_range.log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("offered load (req/s)")
            .y_desc("latency (ms)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| {
                if *y >= 1.0 {
                    format!("{y:.0}")
                } else {
                    format!("{y:.2}")
                }
            })
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, curve) in curves.iter().enumerate() {
            let (light, dark) = colours(i);
            for (label, colour, pick) in [("p50", light, 1_usize), ("p99", dark, 2_usize)] {
                let series: Vec<(f64, f64)> = curve
                    .points
                    .iter()
                    .map(|(x, p50, p99)| (*x, if pick == 1 { *p50 } else { *p99 }))
                    .collect();
                chart
                    .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))
                    .map_err(|e| e.to_string())?
                    .label(format!("{} {label}", curve.platform))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
                chart
                    .draw_series(
                        series
                            .iter()
                            .map(|point| Circle::new(*point, 3, colour.filled())),
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
        chart
            .draw_series(LineSeries::new(
                [(x_range.start, TARGET_MS), (x_range.end, TARGET_MS)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label("target: p99 < 10 ms")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_names_every_series_and_the_target() {
        let curves = [
            Curve {
                platform: "Discord",
                points: vec![(500.0, 0.8, 2.0), (1000.0, 0.9, 3.5)],
            },
            Curve {
                platform: "Slack",
                points: vec![(500.0, 0.7, 1.9), (1000.0, 1.0, 150.0)],
            },
        ];
        let svg = ack_latency(&curves).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for label in [
            "Discord p50",
            "Discord p99",
            "Slack p50",
            "Slack p99",
            "target",
        ] {
            assert!(svg.contains(label), "{label}");
        }
        assert!(svg.len() < 100_000);
        assert!(ack_latency(&[]).is_err());
    }
}
