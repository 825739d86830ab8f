//! `results/ladder.svg`: system calls and context switches per packet (packet rungs) and per
//! request (file rungs), as counted in the kernel, drawn with plotters' SVG backend (no
//! fonts needed: text is emitted as SVG `<text>`).

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::{median, RungKind, Table};

/// One bar pair: label, system calls, context switches (per unit).
type Bar = (String, f64, f64);

fn bars(table: &Table, file: bool) -> Vec<Bar> {
    table
        .iter()
        .filter(|(rung, _)| matches!(rung.kind, RungKind::File(_)) == file)
        .filter_map(|(rung, r)| {
            let runs = r.as_ref().ok()?;
            let sys = median(runs, |m| m.per_unit("server.syscalls.calls"))?;
            let sw = median(runs, |m| m.per_unit("server.switches.calls"))?;
            let label = rung.label.trim_start_matches("file: ").to_string();
            Some((label, sys, sw))
        })
        .collect()
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    data: &[Bar],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    if data.is_empty() {
        return Ok(());
    }
    let ymax = data
        .iter()
        .map(|(_, a, b)| a.max(*b))
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.15;
    let n = data.len() as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((0u32..n).into_segmented(), 0f64..ymax)
        .map_err(|e| anyhow!("{e}"))?;
    let labels: Vec<String> = data.iter().map(|d| d.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(data.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let sys = RGBColor(0x2b, 0x6c, 0xb0);
    let sw = RGBColor(0xdd, 0x8a, 0x2c);
    chart
        .draw_series(data.iter().enumerate().map(|(i, d)| {
            let i = i as u32;
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::CenterOf(i), d.1),
                ],
                sys.filled(),
            )
        }))
        .map_err(|e| anyhow!("{e}"))?
        .label("system calls")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], sys.filled()));
    chart
        .draw_series(data.iter().enumerate().map(|(i, d)| {
            let i = i as u32;
            Rectangle::new(
                [
                    (SegmentValue::CenterOf(i), 0.0),
                    (SegmentValue::Exact(i + 1), d.2),
                ],
                sw.filled(),
            )
        }))
        .map_err(|e| anyhow!("{e}"))?
        .label("context switches")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], sw.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Renders the chart as an SVG document.
pub fn render(table: &Table) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (960, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let (top, bottom) = root.split_vertically(320);
        panel(
            &top,
            "Packet rungs (UDP echo): per answered packet, counted in the kernel",
            &bars(table, false),
        )?;
        panel(
            &bottom,
            "File rungs (1 MiB over TCP): per request, counted in the kernel",
            &bars(table, true),
        )?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(out)
}
