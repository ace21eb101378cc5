//! The timeline picture: a self-contained HTML page with inline SVG, as Jepsen draws it: throughput
//! (calls per second by outcome) and latency (every non-poll call) over time, with the fault windows
//! shaded and labelled with their availability figures (time to recover, throughput ratio).

use std::fmt::Write;

use crate::checker::availability::Availability;
use crate::history::{Op, Outcome};
use crate::nemesis::FaultRecord;

const W: f64 = 1100.0;
const PANEL_H: f64 = 220.0;
const LEFT: f64 = 60.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn color(o: &Outcome) -> &'static str {
    match o {
        Outcome::Ok => "#2a9d4a",
        Outcome::Fault(_) => "#e9a400",
        Outcome::Fail(_) => "#888888",
        Outcome::Indeterminate(_) => "#d62828",
    }
}

/// Renders the page. `t0_ms` is the run's start; `title` heads the page.
pub fn render(
    title: &str,
    ops: &[Op],
    faults: &[FaultRecord],
    availability: &Availability,
    t0_ms: f64,
    summary: &str,
) -> String {
    let end_s = ops
        .iter()
        .map(|o| (o.complete_ms - t0_ms) / 1000.0)
        .chain(faults.iter().map(|f| f.end))
        .fold(1.0f64, f64::max)
        .ceil();
    let x = |t: f64| LEFT + (t / end_s) * (W - LEFT - 20.0);
    let mut svg = String::new();
    let total_h = PANEL_H * 2.0 + 95.0;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{total_h}" font-family="sans-serif" font-size="11">"#
    );
    // Fault windows across both panels.
    for f in faults {
        let (x0, x1) = (x(f.start), x(f.end.max(f.start + 0.2)));
        let fill = if f.applied { "#f4a0a0" } else { "#dddddd" };
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="20" width="{:.1}" height="{:.1}" fill="{fill}" opacity="0.45"><title>{}</title></rect><text x="{x0:.1}" y="15">{}</text>"#,
            (x1 - x0).max(1.0),
            PANEL_H * 2.0 + 20.0,
            esc(&format!("{} {:?}: {}", f.kind, f.targets, f.detail)),
            esc(&f.kind)
        );
    }
    // Each measured window's figures under its label.
    for w in &availability.windows {
        let figures = format!(
            "rec {} ratio {}",
            w.recovery_s.map_or("n/a".into(), |r| format!("{r:.1}s")),
            w.ratio
                .map_or("n/a".into(), |r| format!("{:.0}%", r * 100.0))
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="9" fill="{}">{}</text>"#,
            x(w.start),
            PANEL_H * 2.0 + 60.0,
            if w.checked { "#333" } else { "#999" },
            esc(&figures)
        );
    }
    // Throughput per second by outcome.
    let secs = end_s as usize + 1;
    let kinds = ["ok", "fault", "fail", "indeterminate"];
    let mut counts = vec![[0u32; 4]; secs];
    for o in ops {
        let s = (((o.complete_ms - t0_ms) / 1000.0).max(0.0) as usize).min(secs - 1);
        let k = kinds
            .iter()
            .position(|k| *k == o.outcome.kind())
            .unwrap_or(0);
        counts[s][k] += 1;
    }
    let max_c = counts
        .iter()
        .flat_map(|c| c.iter())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let top = 20.0;
    let y = |c: f64| top + PANEL_H - 10.0 - c / max_c * (PANEL_H - 20.0);
    let colors = ["#2a9d4a", "#e9a400", "#888888", "#d62828"];
    for (k, col) in colors.iter().enumerate() {
        let pts: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(s, c)| format!("{:.1},{:.1}", x(s as f64 + 0.5), y(c[k] as f64)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{col}" stroke-width="1.5" points="{}"/>"#,
            pts.join(" ")
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{col}">{}</text>"#,
            W - 120.0,
            top + 14.0 * (k as f64 + 1.0),
            kinds[k]
        );
    }
    let _ = write!(
        svg,
        r#"<text x="4" y="{:.1}">{max_c:.0}/s</text><text x="4" y="{:.1}">0</text><text x="{LEFT}" y="{:.1}" font-weight="bold">calls per second</text>"#,
        top + 12.0,
        top + PANEL_H - 10.0,
        top + PANEL_H + 2.0
    );
    // Latency scatter (polls are long by design and left out), log scale 1 ms .. 30 s.
    let top2 = top + PANEL_H + 20.0;
    let ly = |ms: f64| {
        let l = ms.clamp(1.0, 30_000.0).log10() / 30_000f64.log10();
        top2 + PANEL_H - 10.0 - l * (PANEL_H - 20.0)
    };
    for o in ops.iter().filter(|o| !o.action.starts_with("Poll")) {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.6" fill="{}"/>"#,
            x((o.invoke_ms - t0_ms) / 1000.0),
            ly(o.complete_ms - o.invoke_ms),
            color(&o.outcome)
        );
    }
    for ms in [1.0, 10.0, 100.0, 1000.0, 10000.0] {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ccc"/><text x="4" y="{:.1}">{} ms</text>"##,
            W - 20.0,
            ly(ms),
            ly(ms),
            ly(ms) + 4.0,
            ms
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{:.1}" font-weight="bold">latency of every non-poll call (log scale)</text>"#,
        top2 + PANEL_H + 2.0
    );
    // Time axis.
    let step = ((end_s / 12.0).ceil()).max(1.0) as usize;
    for s in (0..=end_s as usize).step_by(step) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{s}s</text>"#,
            x(s as f64) - 6.0,
            total_h - 10.0
        );
    }
    svg.push_str("</svg>");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body>\
         <h2>{t}</h2><p>Shaded: fault windows (grey: not applied). Hover a window for details.</p>{svg}\
         <pre>{s}</pre></body></html>",
        t = esc(title),
        s = esc(summary)
    )
}
