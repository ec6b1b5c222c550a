//! The bench's charts, drawn as SVG with plotters: the seed paper's two tables
//! as pictures (IPC cost by message size, n-th prime time by n), SiON beside
//! Linux, both axes logarithmic.

use super::{Figures, IPC_SIZES};
use crate::util::Result;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// One line of a chart: its label, colour and (x, y) points.
type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

fn points(f: &Figures, prefix: &str, xs: &[u64]) -> Vec<(f64, f64)> {
    xs.iter().filter_map(|x| f.get(&format!("{prefix}.{x}")).map(|y| (*x as f64, *y))).collect()
}

fn line_chart(path: &Path, title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x0, x1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), (y0 * 0.7..y1 * 1.4).log_scale())
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(|e| err(&e))?;
    for (label, colour, pts) in series {
        let c = *colour;
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled()))).map_err(|e| err(&e))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::UpperLeft).draw().map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Draw the charts into `dir`; returns their paths.
pub fn draw(dir: &Path, primes: &[u64], sion: &Figures, linux: &Figures) -> Result<Vec<PathBuf>> {
    let ipc = dir.join("ipc.svg");
    line_chart(
        &ipc,
        "Message round trip by size (QEMU TCG, -icount shift=0)",
        "message bytes",
        "guest cycles (instructions)",
        &[("SiON native call + reply", BLUE, points(sion, "ipc", IPC_SIZES)), ("Linux AF_UNIX datagram round trip", RED, points(linux, "unix_dgram", IPC_SIZES))],
    )?;
    let prime = dir.join("prime.svg");
    line_chart(
        &prime,
        "n-th prime by trial division (QEMU TCG, -icount shift=0)",
        "n",
        "guest cycles (instructions)",
        &[("SiON (Linux personality)", BLUE, points(sion, "prime", primes)), ("Linux 6.1", RED, points(linux, "prime", primes))],
    )?;
    Ok(vec![ipc, prime])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg() {
        let dir = std::env::temp_dir().join(format!("xtask-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = Figures::new();
        let mut l = Figures::new();
        for (i, n) in [4u64, 1024, 65500].iter().enumerate() {
            s.insert(format!("ipc.{n}"), 1000.0 * (i + 1) as f64);
            l.insert(format!("unix_dgram.{n}"), 4000.0 * (i + 1) as f64);
        }
        let paths = draw(&dir, &[500], &s, &l).unwrap();
        let svg = std::fs::read_to_string(&paths[0]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("SiON native call + reply"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
