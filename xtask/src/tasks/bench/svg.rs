//! The results as a hand-written SVG bar chart (`results/latest.svg`): answered Mpps per
//! configuration at maximum load (median, with a min–max whisker), then the sweep.

use std::fmt::Write as _;

use super::results::{Measured, Results};

const WIDTH: f64 = 900.0;
const LABEL_W: f64 = 330.0;
const BAR_H: f64 = 22.0;
const GAP: f64 = 8.0;
const TOP: f64 = 50.0;

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the chart.
pub fn render(r: &Results) -> String {
    let rows: Vec<(&Measured, &str)> = r
        .max
        .iter()
        .map(|m| (m, "#4878a8"))
        .chain(r.sweep.iter().map(|m| (m, "#98b8d8")))
        .collect();
    let scale_max = rows
        .iter()
        .filter_map(|(m, _)| m.runs.rx_pps().map(|s| s.max))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let plot_w = WIDTH - LABEL_W - 110.0;
    let x = |pps: f64| LABEL_W + plot_w * pps / scale_max;
    let height = TOP + rows.len() as f64 * (BAR_H + GAP) + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">Answered Mpps at maximum offered load (median, min–max whisker), 60-byte UDP echo</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="40" fill="#555">{} run(s) x {} s; dark: the five configurations, light: responder sweep (native mode)</text>"##,
        r.env.repeats, r.env.window
    );
    for (i, (m, color)) in rows.iter().enumerate() {
        let y = TOP + i as f64 * (BAR_H + GAP);
        let label = if m.scenario.key.starts_with("sweep-") {
            format!("responder {}", m.scenario.label)
        } else {
            m.scenario.label.clone()
        };
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y + BAR_H * 0.7,
            esc(&label)
        );
        match m.runs.rx_pps() {
            Some(sp) => {
                let _ = writeln!(
                    s,
                    r#"<rect x="{LABEL_W}" y="{y}" width="{:.1}" height="{BAR_H}" fill="{color}"/>"#,
                    (x(sp.median) - LABEL_W).max(0.5)
                );
                let wy = y + BAR_H / 2.0;
                let _ = writeln!(
                    s,
                    r##"<line x1="{:.1}" y1="{wy}" x2="{:.1}" y2="{wy}" stroke="#222" stroke-width="1.5"/>"##,
                    x(sp.min),
                    x(sp.max)
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{}">{:.3}</text>"#,
                    x(sp.max) + 6.0,
                    y + BAR_H * 0.7,
                    sp.median / 1e6
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{}" fill="#a00">not measured</text>"##,
                    LABEL_W + 4.0,
                    y + BAR_H * 0.7
                );
            }
        }
    }
    let axis_y = TOP + rows.len() as f64 * (BAR_H + GAP) + 4.0;
    let _ = writeln!(
        s,
        r##"<line x1="{LABEL_W}" y1="{axis_y}" x2="{:.1}" y2="{axis_y}" stroke="#222"/>"##,
        LABEL_W + plot_w
    );
    for i in 0..=4 {
        let v = scale_max * i as f64 / 4.0;
        let tx = x(v);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{axis_y}" x2="{tx:.1}" y2="{:.1}" stroke="#222"/>"##,
            axis_y + 4.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{:.2}</text>"#,
            axis_y + 18.0,
            v / 1e6
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}">Mpps</text>"#,
        LABEL_W + plot_w + 8.0,
        axis_y + 18.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::bench::results::tests::results;

    #[test]
    fn one_bar_per_configuration_and_well_formed() {
        let svg = render(&results([1.0, 0.5, 0.25, 0.3, 3.0]));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 5,
            "background + five bars"
        );
        assert!(svg.contains("XDP_TX bounce (in-kernel bound)"));
        assert!(svg.contains(">3.000<"), "median label");
        // Balanced quotes and no unescaped ampersands.
        assert_eq!(svg.matches('"').count() % 2, 0);
        assert!(!svg.contains("& "));
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn empty_results_still_render() {
        let svg = render(&Results::default());
        assert!(svg.contains("</svg>"));
    }
}
