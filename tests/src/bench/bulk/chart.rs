//! `bulk-throughput.svg`: measured throughput against the limit R, next to the limit itself, the
//! most targets it admits, and the sequential baseline.

use plotters::prelude::*;

/// One measured limit: R, and the medians at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Point {
    /// The simulator's limit, requests per second.
    pub limit: f64,
    /// Passdesk's targets per second.
    pub targets: f64,
    /// Upstream requests per second the simulator admitted.
    pub requests: f64,
}

/// The chart's file name.
pub(super) const FILE: &str = "bulk-throughput.svg";

const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE_: RGBColor = RGBColor(255, 127, 14);
const GREY_: RGBColor = RGBColor(110, 110, 110);
const GREEN_: RGBColor = RGBColor(44, 160, 44);

/// Renders the chart; `requests_per_target` draws the line R ÷ that (the most targets a client
/// obeying the limit can complete).
pub(super) fn render(
    points: &[Point],
    sequential: f64,
    requests_per_target: f64,
) -> Result<String, String> {
    let mut svg = String::new();
    draw(&mut svg, points, sequential, requests_per_target).map_err(|e| e.to_string())?;
    Ok(svg)
}

fn draw(
    svg: &mut String,
    points: &[Point],
    sequential: f64,
    requests_per_target: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let x_max = points.iter().map(|p| p.limit).fold(1.0_f64, f64::max) * 1.15;
    let y_max = points
        .iter()
        .flat_map(|p| [p.limit, p.targets, p.requests])
        .fold(sequential, f64::max)
        * 1.15;
    let root = SVGBackend::with_string(svg, (760, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Bulk reset throughput vs JumpCloud's rate limit R",
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(58)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("limit R (requests/s per API key)")
        .y_desc("per second")
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    let limit_line = [(0.0, 0.0), (x_max, x_max)];
    chart
        .draw_series(LineSeries::new(limit_line, GREY_.stroke_width(2)))?
        .label("y = R: the limit (requests/s)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREY_.stroke_width(2)));
    let per_target = [(0.0, 0.0), (x_max, x_max / requests_per_target)];
    chart
        .draw_series(DashedLineSeries::new(
            per_target,
            6,
            4,
            GREY_.stroke_width(1),
        ))?
        .label(format!(
            "y = R ÷ {requests_per_target}: most targets/s ({requests_per_target} requests each)"
        ))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREY_.stroke_width(1)));
    chart
        .draw_series(LineSeries::new(
            [(0.0, sequential), (x_max, sequential)],
            GREEN_.stroke_width(2),
        ))?
        .label(format!(
            "sequential baseline: {sequential:.1} users/s (one request at a time)"
        ))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN_.stroke_width(2)));

    let requests: Vec<(f64, f64)> = points.iter().map(|p| (p.limit, p.requests)).collect();
    chart.draw_series(LineSeries::new(requests.clone(), ORANGE_.stroke_width(1)))?;
    chart
        .draw_series(PointSeries::of_element(
            requests,
            5,
            ORANGE_.filled(),
            &|c, s, st| EmptyElement::at(c) + TriangleMarker::new((0, 0), s, st),
        ))?
        .label("Passdesk: upstream requests/s admitted")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 5, ORANGE_.filled()));

    let targets: Vec<(f64, f64)> = points.iter().map(|p| (p.limit, p.targets)).collect();
    chart.draw_series(LineSeries::new(targets.clone(), BLUE_.stroke_width(2)))?;
    chart
        .draw_series(PointSeries::of_element(
            targets,
            5,
            BLUE_.filled(),
            &|c, s, st| {
                EmptyElement::at(c)
                    + Circle::new((0, 0), s, st)
                    + Text::new(format!("{:.1}", c.1), (8, -14), ("sans-serif", 13))
            },
        ))?
        .label("Passdesk: targets/s (Confirm to report)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, BLUE_.filled()));

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(GREY_)
        .background_style(WHITE.mix(0.9))
        .label_font(("sans-serif", 13))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_series_in_a_small_svg() {
        let points = [
            Point {
                limit: 100.0,
                targets: 47.5,
                requests: 95.0,
            },
            Point {
                limit: 400.0,
                targets: 162.6,
                requests: 325.2,
            },
        ];
        let svg = render(&points, 19.2, 2.0).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        for label in [
            "the limit",
            "most targets/s",
            "sequential baseline: 19.2",
            "targets/s (Confirm to report)",
            "requests/s admitted",
            "162.6",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert!(svg.len() < 100_000, "{} bytes", svg.len());
    }
}
