//! The timeline as inline SVG: one bar per key across the years (newest
//! on top), the overlap with the predecessor hatched, "now" marked,
//! revocations and subkey rotations marked, predecessor certifications
//! drawn as links between bars and gaps in the chain as dashed red
//! crossings. Styled by the page's CSS; every text escaped.

use chrono::{Datelike, TimeZone, Utc};

use super::{escape as esc, Page, PageKey};
use crate::base::clock::{self, Time};

/// viewBox width; the left column holds the labels.
const W: f64 = 1200.0;
const LABEL: f64 = 170.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const ROW: f64 = 28.0;
const BAR: f64 = 16.0;

struct Scale {
    t0: i64,
    t1: i64,
}

impl Scale {
    fn new(page: &Page) -> Scale {
        let first = page
            .keys
            .iter()
            .map(|k| k.created)
            .min()
            .unwrap_or(page.time)
            .min(page.time);
        let last = page
            .keys
            .iter()
            .map(|k| k.expires.unwrap_or(page.time).max(k.created))
            .max()
            .unwrap_or(page.time)
            .max(page.time);
        Scale {
            t0: year_start(first.year()).timestamp(),
            t1: year_start(last.year() + 1).timestamp(),
        }
    }

    fn x(&self, t: Time) -> f64 {
        let f = (t.timestamp() - self.t0) as f64 / (self.t1 - self.t0).max(1) as f64;
        LABEL + f.clamp(0.0, 1.0) * (W - LABEL - RIGHT)
    }
}

fn year_start(y: i32) -> Time {
    Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(|| clock::start_of_day(chrono::NaiveDate::MIN))
}

fn row_y(i: usize) -> f64 {
    TOP + i as f64 * ROW
}

fn bar_top(i: usize) -> f64 {
    row_y(i) + (ROW - BAR) / 2.0
}

/// The label of a row: the cycle, else the user ID (shortened).
fn row_label(k: &PageKey) -> String {
    match &k.cycle {
        Some(c) => c.clone(),
        None => {
            let s: String = k.name.uid.chars().take(22).collect();
            if k.name.uid.chars().count() > 22 {
                format!("{s}…")
            } else {
                s
            }
        }
    }
}

fn axis(out: &mut String, s: &Scale, page: &Page, bottom: f64) {
    let (y0, y1) = (
        Utc.timestamp_opt(s.t0, 0)
            .single()
            .map(|t| t.year())
            .unwrap_or(0),
        Utc.timestamp_opt(s.t1, 0)
            .single()
            .map(|t| t.year())
            .unwrap_or(0),
    );
    for y in y0..=y1 {
        let x = s.x(year_start(y));
        out.push_str(&format!(
            r#"<line class="grid" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}"/>"#,
            TOP - 8.0
        ));
        if y < y1 {
            out.push_str(&format!(
                r#"<text class="year" x="{:.1}" y="{:.1}">{y}</text>"#,
                x + 4.0,
                TOP - 12.0
            ));
        }
    }
    let x = s.x(page.time);
    let anchor = if x > W - 160.0 { "end" } else { "middle" };
    out.push_str(&format!(
        r#"<line class="now" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}"><title>now: {}</title></line><text class="now-label" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">now {}</text>"#,
        TOP - 30.0,
        clock::day(page.time),
        TOP - 32.0,
        clock::day(page.time)
    ));
}

/// One key's row: label, bar, overlap, revocation, events.
fn row(out: &mut String, s: &Scale, page: &Page, i: usize) {
    let k = &page.keys[i];
    let y = bar_top(i);
    let x0 = s.x(k.created);
    let end = k
        .expires
        .unwrap_or_else(|| Utc.timestamp_opt(s.t1, 0).single().unwrap_or(page.time));
    let x1 = s.x(end).max(x0 + 2.0);
    let span = format!(
        "{} – {}",
        clock::day(k.created),
        k.expires
            .map(clock::day)
            .unwrap_or_else(|| "no expiry".into())
    );
    out.push_str(&format!(
        r#"<text class="lbl" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        LABEL - 8.0,
        y + BAR - 3.0,
        esc(&row_label(k))
    ));
    out.push_str(&format!(
        r#"<g class="key"><title>{}: {span}, {}</title><rect class="bar {}" data-fingerprint="{}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{BAR}" rx="3"/>"#,
        esc(&k.name.label),
        esc(&k.status_text),
        k.status.class(),
        esc(&k.name.fingerprint),
        x1 - x0
    ));
    overlap(out, s, page, i, end, y);
    revocation(out, s, k, x1, y);
    // The name again beside the bar, so that a narrow screen scrolled to
    // the recent years still tells the rows apart.
    let name = row_label(k);
    let short = name.rsplit('/').next().unwrap_or(&name);
    let room = short.chars().count() as f64 * 9.5 + 8.0;
    let (lx, anchor) = if x1 + room < W - RIGHT {
        (x1 + 6.0, "start")
    } else {
        (x0 - 6.0, "end")
    };
    out.push_str(&format!(
        r#"<text class="bar-lbl" x="{lx:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
        y + BAR - 3.0,
        esc(short)
    ));
    events(out, s, k, y);
    out.push_str("</g>");
}

/// The row of the key's predecessor (by label).
fn predecessor(page: &Page, i: usize) -> Option<usize> {
    let p = page.keys[i].predecessor.as_ref()?;
    page.keys.iter().position(|k| &k.name.label == p)
}

/// Certification links and gaps between a key and its predecessor.
fn links(out: &mut String, s: &Scale, page: &Page) {
    for (i, k) in page.keys.iter().enumerate() {
        let Some(j) = predecessor(page, i) else {
            continue;
        };
        let p = &page.keys[j];
        // Rows run newest first: the predecessor is below.
        let (top, bottom) = if j > i {
            (bar_top(i) + BAR, bar_top(j))
        } else {
            (bar_top(j) + BAR, bar_top(i))
        };
        match k.cross_signed {
            Some(true) => {
                let x = s.x(k.cross_signed_at.unwrap_or(k.created));
                out.push_str(&format!(
                    r#"<g class="link"><title>{} certified {}{}</title><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/><circle cx="{x:.1}" cy="{bottom:.1}" r="2.5"/><path d="M{x:.1} {top:.1}l-4 6h8z"/></g>"#,
                    esc(&p.name.label),
                    esc(&k.name.label),
                    k.cross_signed_at
                        .map(|t| format!(" on {}", clock::day(t)))
                        .unwrap_or_default(),
                    bottom,
                    top + 5.0
                ));
            }
            Some(false) => {
                let x = s.x(k.created);
                let mid = (top + bottom) / 2.0;
                out.push_str(&format!(
                    r#"<g class="gap"><title>gap: {} did not certify {}{}</title><line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/><path d="M{:.1} {:.1}l6 6m0-6l-6 6"/></g>"#,
                    esc(&p.name.label),
                    esc(&k.name.label),
                    k.cross_sign_void
                        .as_ref()
                        .map(|w| format!(" (its certification does not count: {})", esc(w)))
                        .unwrap_or_default(),
                    x - 3.0,
                    mid - 3.0
                ));
            }
            None => {}
        }
    }
}

/// A legend entry's mark at (x, baseline y).
fn legend_mark(kind: &str, x: f64, y: f64) -> String {
    let (mx, top, bottom) = (x + 7.0, y - 12.0, y + 2.0);
    let vline = |class: &str| {
        format!(
            r#"<g class="{class}"><line x1="{mx:.1}" y1="{top:.1}" x2="{mx:.1}" y2="{bottom:.1}"/></g>"#
        )
    };
    match kind {
        "link" => vline("link"),
        "gap" => vline("gap"),
        "now" => format!(
            r#"<line class="now" x1="{mx:.1}" y1="{top:.1}" x2="{mx:.1}" y2="{bottom:.1}"/>"#
        ),
        "rot" => format!(r#"<path class="ev-rot" d="M{mx:.1} {top:.1}l6 7-6 7-6-7z"/>"#),
        "subrev" => format!(
            r#"<circle class="ev-subrev" cx="{mx:.1}" cy="{:.1}" r="3.5"/>"#,
            y - 5.0
        ),
        "overlap" => format!(
            r#"<rect class="bar valid" x="{x:.1}" y="{:.1}" width="16" height="12" rx="2"/><rect class="overlap" x="{x:.1}" y="{:.1}" width="16" height="12"/>"#,
            y - 11.0,
            y - 11.0
        ),
        status => format!(
            r#"<rect class="bar {status}" x="{x:.1}" y="{:.1}" width="16" height="12" rx="2"/>"#,
            y - 11.0
        ),
    }
}

/// The legend, flowing over as many lines as it needs; returns the
/// baseline of its last line.
fn legend(out: &mut String, y: f64) -> f64 {
    let items: [(&str, &str); 11] = [
        ("current", "current"),
        ("next", "next"),
        ("valid", "valid"),
        ("expired", "expired"),
        ("revoked", "revoked"),
        ("overlap", "overlap with the predecessor"),
        ("link", "certified by the predecessor"),
        ("gap", "not certified: a gap in the chain"),
        ("rot", "signing subkey added or rotated"),
        ("subrev", "subkey revoked"),
        ("now", "now"),
    ];
    out.push_str(r#"<g class="legend">"#);
    let (mut x, mut yy) = (20.0, y);
    for (kind, text) in items {
        // Room for the phone's larger text (17 units: about 9.4 per
        // character), so the entries never overlap.
        let width = 22.0 + text.chars().count() as f64 * 9.5 + 24.0;
        if x + width > W - RIGHT {
            x = 20.0;
            yy += 24.0;
        }
        out.push_str(&legend_mark(kind, x, yy));
        out.push_str(&format!(
            r#"<text class="lg" x="{:.1}" y="{yy:.1}">{}</text>"#,
            x + 22.0,
            esc(text)
        ));
        x += width;
    }
    out.push_str("</g>");
    yy
}

/// The `<svg>` element.
pub fn svg(page: &Page) -> String {
    let s = Scale::new(page);
    let n = page.keys.len();
    let bottom = row_y(n) + 6.0;
    let mut body = String::with_capacity(2048 + n * 1024);
    axis(&mut body, &s, page, bottom);
    for i in 0..n {
        row(&mut body, &s, page, i);
    }
    links(&mut body, &s, page);
    let height = legend(&mut body, bottom + 30.0) + 14.0;
    let mut out = String::with_capacity(body.len() + 1024);
    out.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {W} {height:.0}" role="img" aria-labelledby="tl-title tl-desc"><title id="tl-title">Timeline of the {n} release signing keys</title><desc id="tl-desc">One bar per key from its creation to its expiry, newest on top; the same facts are listed as text below the figure.</desc>"#
    ));
    out.push_str(
        r##"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#fff" fill-opacity="0.6"/></pattern><pattern id="cross" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0 0l6 6M6 0l-6 6" stroke="#b71c1c" stroke-width="1.2"/></pattern></defs>"##,
    );
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// The overlap of row `i`'s bar (ending at `end`) with its predecessor's
/// validity.
fn overlap(out: &mut String, s: &Scale, page: &Page, i: usize, end: Time, y: f64) {
    let k = &page.keys[i];
    if let Some(p) = predecessor(page, i).map(|j| &page.keys[j]) {
        let from = k.created.max(p.created);
        let to = end.min(p.expires.unwrap_or(end));
        if to > from {
            out.push_str(&format!(
                r#"<rect class="overlap" x="{:.1}" y="{y:.1}" width="{:.1}" height="{BAR}"><title>overlap with {}: {} – {}</title></rect>"#,
                s.x(from),
                (s.x(to) - s.x(from)).max(1.0),
                esc(&p.name.label),
                clock::day(from),
                clock::day(to)
            ));
        }
    }
}

/// A revoked key: the void part of its bar (from the revocation to `x1`)
/// and the revocation line.
fn revocation(out: &mut String, s: &Scale, k: &PageKey, x1: f64, y: f64) {
    if let Some(r) = k.revoked_at {
        let xr = s.x(r);
        if xr < x1 {
            out.push_str(&format!(
                r#"<rect class="void" x="{xr:.1}" y="{y:.1}" width="{:.1}" height="{BAR}"/>"#,
                x1 - xr
            ));
        }
        out.push_str(&format!(
            r#"<line class="rev" x1="{xr:.1}" y1="{:.1}" x2="{xr:.1}" y2="{:.1}"><title>{}</title></line>"#,
            y - 4.0,
            y + BAR + 4.0,
            esc(&k.status_text)
        ));
    }
}

/// The key's events on its bar: subkeys added and revoked.
fn events(out: &mut String, s: &Scale, k: &PageKey, y: f64) {
    let cy = y + BAR / 2.0;
    for e in &k.events {
        let x = s.x(e.time);
        let title = format!("{}: {}", clock::day(e.time), esc(&e.text));
        match e.kind {
            "subkey-added" => out.push_str(&format!(
                r#"<path class="ev-rot" d="M{x:.1} {:.1}l6 7-6 7-6-7z"><title>{title}</title></path>"#,
                cy - 7.0
            )),
            "subkey-revoked" => out.push_str(&format!(
                r#"<circle class="ev-subrev" cx="{x:.1}" cy="{:.1}" r="3.5"><title>{title}</title></circle>"#,
                y - 5.0
            )),
            _ => {}
        }
    }
}
