//! Small SVG charts for the review and trends pages and the Markdown export: lines over time
//! with marked moments, and stacked bars. Self-contained SVG (no script, no external font or
//! stylesheet), so the same text works inline in a page under a strict CSP and as a data URI
//! image in Markdown. Every text is XML-escaped.

use chrono::{DateTime, Utc};
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 52.0;
/// Colour-blind-safe (Okabe–Ito) colours, in order.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

/// XML-escapes text for an SVG element or attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line: a name and its values at the bucket starts.
#[derive(Debug, Clone)]
pub struct Line {
    /// The legend's name.
    pub name: String,
    /// `(time, value)`, in time order.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A moment marked with a vertical line (an alert, the opening, a public update).
#[derive(Debug, Clone)]
pub struct Marker {
    /// When.
    pub at: DateTime<Utc>,
    /// A short label.
    pub label: String,
}

/// The smallest "nice" number (1, 2, 5 × 10^k) at or above `v`, for the y axis.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * base)
}

fn open(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{t}" font-family="sans-serif" font-size="11"><title>{t}</title><rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/><text x="{LEFT}" y="16" font-size="13" font-weight="bold" fill="#222">{t}</text>"##,
        t = esc(title)
    );
}

fn y_axis(out: &mut String, max: f64) {
    let plot_h = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="#555">{v}</text>"##,
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            v = if max < 4.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.0}")
            }
        );
    }
}

fn legend(out: &mut String, names: &[String]) {
    let mut x = LEFT;
    for (i, name) in names.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{y}" width="10" height="10" fill="{colour}"/><text x="{tx:.1}" y="{ty}" fill="#222">{n}</text>"##,
            y = HEIGHT - 16.0,
            tx = x + 14.0,
            ty = HEIGHT - 7.0,
            n = esc(name)
        );
        x += 24.0 + 6.5 * name.chars().count() as f64;
    }
}

/// What is expected at each time: a shaded band from `low` to `high` with the expected value
/// dashed through it.
#[derive(Debug, Clone, Default)]
pub struct Band {
    /// `(time, low, expected, high)`, in time order.
    pub points: Vec<(DateTime<Utc>, f64, f64, f64)>,
}

/// Lines over `[start, end]` with marked moments. Empty lines draw an empty, labelled frame.
pub fn lines(
    title: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    series: &[Line],
    markers: &[Marker],
) -> String {
    lines_with_band(title, start, end, series, &Band::default(), markers)
}

/// [`lines`] drawn over an expected band (left out when it has no points).
pub fn lines_with_band(
    title: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    series: &[Line],
    band: &Band,
    markers: &[Marker],
) -> String {
    let mut out = String::new();
    open(&mut out, title);
    let max = nice_max(
        series
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(band.points.iter().map(|p| p.3))
            .fold(0.0, f64::max),
    );
    y_axis(&mut out, max);
    let span = (end - start).num_seconds().max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |t: DateTime<Utc>| {
        LEFT + plot_w * ((t - start).num_seconds() as f64 / span).clamp(0.0, 1.0)
    };
    let y_of = |v: f64| TOP + plot_h - plot_h * (v / max);
    // Time labels at both ends and the middle.
    for (t, anchor) in [
        (start, "start"),
        (start + (end - start) / 2, "middle"),
        (end, "end"),
    ] {
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="#555">{label}</text>"##,
            x = x_of(t),
            y = HEIGHT - BOTTOM + 14.0,
            label = t.format("%Y-%m-%d %H:%M UTC")
        );
    }
    if !band.points.is_empty() {
        let upper = band.points.iter().map(|p| (p.0, p.3));
        let lower = band.points.iter().rev().map(|p| (p.0, p.1));
        let outline: Vec<String> = upper
            .chain(lower)
            .map(|(t, v)| format!("{:.1},{:.1}", x_of(t), y_of(v)))
            .collect();
        let middle: Vec<String> = band
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x_of(p.0), y_of(p.2)))
            .collect();
        let _ = write!(
            out,
            r##"<polygon fill="#bbb" fill-opacity="0.35" stroke="none" points="{}"><title>expected range</title></polygon><polyline fill="none" stroke="#777" stroke-width="1.5" stroke-dasharray="5 4" points="{}"><title>expected</title></polyline>"##,
            outline.join(" "),
            middle.join(" ")
        );
    }
    for (i, line) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x_of(*t), y_of(*v)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            esc(&line.name)
        );
    }
    for (i, m) in markers.iter().enumerate() {
        let x = x_of(m.at);
        // Labels alternate between two rows so neighbours do not overlap.
        let y = TOP + 10.0 + 12.0 * (i % 2) as f64;
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{b}" stroke="#b00020" stroke-dasharray="4 3"/><text x="{tx:.1}" y="{y:.1}" fill="#b00020">{l}</text>"##,
            b = HEIGHT - BOTTOM,
            tx = x + 3.0,
            l = esc(&m.label)
        );
    }
    let names: Vec<String> = series.iter().map(|l| l.name.clone()).collect();
    legend(&mut out, &names);
    out.push_str("</svg>");
    out
}

/// Stacked bars: one bar per category (`labels`), one stack per series.
pub fn stacked_bars(title: &str, labels: &[String], stacks: &[(String, Vec<f64>)]) -> String {
    let mut out = String::new();
    open(&mut out, title);
    let totals: Vec<f64> = (0..labels.len())
        .map(|i| {
            stacks
                .iter()
                .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    y_axis(&mut out, max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / labels.len().max(1) as f64;
    let bar = (slot * 0.7).min(48.0);
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0.0;
        for (k, (name, values)) in stacks.iter().enumerate() {
            let v = values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = plot_h * v / max;
            let y = TOP + plot_h - plot_h * base / max - h;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{c}"><title>{n}: {v}</title></rect>"#,
                c = PALETTE[k % PALETTE.len()],
                n = esc(&format!("{label} {name}")),
            );
            base += v;
        }
        let _ = write!(
            out,
            r##"<text x="{cx:.1}" y="{y:.1}" text-anchor="middle" fill="#555">{l}</text>"##,
            cx = x + bar / 2.0,
            y = HEIGHT - BOTTOM + 14.0,
            l = esc(label)
        );
    }
    let names: Vec<String> = stacks.iter().map(|(n, _)| n.clone()).collect();
    legend(&mut out, &names);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_359_200 + m * 60, 0).unwrap()
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let svg = lines(
            "<script>alert(1)</script>",
            t(0),
            t(60),
            &[Line {
                name: "a&b\"".into(),
                points: vec![(t(0), 1.0), (t(30), 4.0)],
            }],
            &[Marker {
                at: t(10),
                label: "<b>".into(),
            }],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a&amp;b&quot;"));
        assert!(svg.contains("&lt;b&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn points_and_markers_land_where_their_values_say() {
        let svg = lines(
            "x",
            t(0),
            t(60),
            &[Line {
                name: "n".into(),
                points: vec![(t(0), 0.0), (t(60), 10.0)],
            }],
            &[Marker {
                at: t(30),
                label: "m".into(),
            }],
        );
        // 0 at the bottom-left of the plot; the maximum (10) at the top-right.
        assert!(svg.contains(&format!(
            "points=\"{LEFT:.1},{:.1} {:.1},{TOP:.1}\"",
            HEIGHT - BOTTOM,
            WIDTH - RIGHT
        )));
        let mid = LEFT + (WIDTH - LEFT - RIGHT) / 2.0;
        assert!(svg.contains(&format!("x1=\"{mid:.1}\"")));
    }

    #[test]
    fn axes_use_nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(450.0), 500.0);
        let svg = stacked_bars(
            "b",
            &["2026-01".into(), "2026-02".into()],
            &[
                ("SEV1".into(), vec![1.0, 0.0]),
                ("SEV2".into(), vec![2.0, 3.0]),
            ],
        );
        assert_eq!(
            svg.matches("<rect x=").count(),
            3 + 2,
            "3 bars and 2 legend keys"
        );
    }
}
