//! Plots as SVG and PNG (plotters, with an embedded font so that every machine renders the
//! same). One mechanism: a figure is a grid of [`Panel`]s of line [`Series`].

use anyhow::{Result, anyhow};
use ccrnn_io::RunDir;
use plotters::coord::Shift;
use plotters::prelude::*;

/// DejaVu Sans, subset (see assets/FONT-LICENSE).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded font is valid"));
    });
}

/// One line, or (`scatter`) a cloud of points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub dashed: bool,
    pub markers: bool,
    pub scatter: bool,
}

impl Series {
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Self {
            name: name.into(),
            points,
            color,
            dashed: false,
            markers: false,
            scatter: false,
        }
    }
    /// Points without a line (replicates around their median, say), as small open circles.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Self {
            scatter: true,
            ..Self::line(name, points, color)
        }
    }
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }
}

/// One chart.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Logarithmic y axis (values ≤ 0 are dropped).
    pub log_y: bool,
    /// Logarithmic x axis (values ≤ 0 are dropped).
    pub log_x: bool,
    /// Names of the integer x positions 0, 1, … (a categorical axis).
    pub x_names: Option<Vec<String>>,
}

/// The i-th colour of the palette.
pub fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

fn y_of(v: f64, log: bool) -> Option<f64> {
    if log {
        (v > 0.0 && v.is_finite()).then(|| v.log10())
    } else {
        v.is_finite().then_some(v)
    }
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<(), String> {
    let pts: Vec<Vec<(f64, f64)>> = p
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(x, y)| Some((y_of(x, p.log_x)?, y_of(y, p.log_y)?)))
                .collect()
        })
        .collect();
    let all = pts.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if let Some(names) = &p.x_names {
        (x0, x1) = (-0.5, names.len() as f64 - 0.5);
    }
    // Head room above the data for the legend.
    let span = (y1 - y0).max(1e-9);
    let (y0, y1) = (y0 - 0.06 * span, y1 + 0.32 * span);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(38)
        .y_label_area_size(58)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let log = p.log_y;
    let yfmt = move |v: &f64| {
        let e = if log { 10f64.powf(*v) } else { *v };
        if log && !(0.01..1e4).contains(&e) {
            format!("{e:.0e}")
        } else {
            // Three significant digits, without trailing zeros.
            let digits = (2 - e.abs().max(1e-12).log10().floor() as i32).max(0) as usize;
            let s = format!("{e:.digits$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        }
    };
    let names = p.x_names.clone();
    let log_x = p.log_x;
    let xfmt = move |v: &f64| match &names {
        Some(n) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n.len() {
                n[i as usize].clone()
            } else {
                String::new()
            }
        }
        None if log_x => {
            let e = 10f64.powf(*v);
            if e >= 1.0 { format!("{e:.0}") } else { format!("{e:.2}") }
        }
        None => format!("{v}"),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&p.x_label)
        .y_desc(&p.y_label)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style(("sans-serif", 13))
        .light_line_style(TRANSPARENT);
    if let Some(n) = &p.x_names {
        mesh.x_labels(n.len()).disable_x_mesh();
    }
    mesh.draw().map_err(err)?;
    for (s, pts) in p.series.iter().zip(pts) {
        let style = ShapeStyle::from(&s.color).stroke_width(2);
        let c = s.color;
        let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2));
        if s.scatter {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.stroke_width(1))))
                .map_err(err)?
                .label(&s.name)
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.stroke_width(1)));
            continue;
        }
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(err)?
                .label(&s.name)
                .legend(legend);
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(err)?
                .label(&s.name)
                .legend(legend);
        }
        if s.markers {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, s.color.filled())))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_all<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[Panel], cols: usize) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let rows = panels.len().div_ceil(cols);
    let areas = root.split_evenly((rows, cols));
    for (a, p) in areas.iter().zip(panels) {
        draw_panel(a, p)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Writes `stem.svg` and `stem.png` into the run directory: `panels` on a grid of `cols`
/// columns, each panel `panel_size` pixels.
pub fn save(run: &RunDir, stem: &str, panels: &[Panel], cols: usize, panel_size: (u32, u32)) -> Result<()> {
    save_at(&run.file(stem), panels, cols, panel_size)
}

/// Writes `PATH.svg` and `PATH.png` (`path` without extension).
pub fn save_at(path: &std::path::Path, panels: &[Panel], cols: usize, panel_size: (u32, u32)) -> Result<()> {
    register_font();
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols) as u32;
    let size = (panel_size.0 * cols as u32, panel_size.1 * rows);
    let svg_path = path.with_extension("svg");
    let png = path.with_extension("png");
    let mut svg = String::new();
    draw_all(
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
        panels,
        cols,
    )
    .map_err(|e| anyhow!("plot {}: {e}", svg_path.display()))?;
    ccrnn_io::write_atomic(&svg_path, svg.as_bytes())?;
    draw_all(BitMapBackend::new(&png, size).into_drawing_area(), panels, cols)
        .map_err(|e| anyhow!("plot {}: {e}", png.display()))?;
    Ok(())
}
