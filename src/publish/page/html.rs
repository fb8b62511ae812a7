//! The page's HTML: one self-contained `index.html` (inline CSS and SVG,
//! no script, no external resource; a Content-Security-Policy that allows
//! none), readable from `file://`, at 1280 px and on a phone.

use super::{timeline, Page, PageKey, Status};
use crate::base::clock;

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
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

const STYLE: &str = r#"
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --code: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1220px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { font-size: 1.7rem; margin: .4em 0 .2em; }
h2 { font-size: 1.3rem; margin: 1.6em 0 .5em; border-bottom: 1px solid var(--line); padding-bottom: .2em; }
h3 { font-size: 1.05rem; margin: 1em 0 .3em; }
p.lead { color: var(--muted); margin-top: 0; }
code, pre, .fpr { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .9em; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; }
pre code { user-select: all; white-space: pre; }
.fpr { overflow-wrap: anywhere; }
/* right-to-left scrolling: a narrow screen starts at the recent years */
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 6px; direction: rtl; }
svg.timeline { direction: ltr; display: block; width: 100%; min-width: 900px; height: auto; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
svg.timeline text { font-size: 13px; fill: var(--fg); }
svg.timeline text.year, svg.timeline text.bar-lbl { fill: var(--muted); }
svg.timeline text.now-label { fill: #6a1b9a; font-weight: 600; }
svg.timeline .grid { stroke: #eaeef2; stroke-width: 1; }
svg.timeline .now { stroke: #6a1b9a; stroke-width: 2; stroke-dasharray: 5 3; }
.bar.current { fill: #2e7d32; } .bar.next { fill: #1565c0; } .bar.valid { fill: #00897b; }
.bar.expired { fill: #9aa4ad; } .bar.revoked { fill: #c62828; } .bar.not-yet-valid { fill: #90caf9; }
svg.timeline .overlap { fill: url(#hatch); }
svg.timeline .void { fill: url(#cross); }
svg.timeline .rev { stroke: #b71c1c; stroke-width: 3; }
svg.timeline .link line { stroke: #1b5e20; stroke-width: 2.5; }
svg.timeline .link circle, svg.timeline .link path { fill: #1b5e20; }
svg.timeline .gap line { stroke: #d32f2f; stroke-width: 2; stroke-dasharray: 3 3; }
svg.timeline .gap path { stroke: #d32f2f; stroke-width: 2; fill: none; }
svg.timeline .ev-rot { fill: #ff8f00; stroke: #1b1f24; stroke-width: 1; }
svg.timeline .ev-subrev { fill: #fff; stroke: #b71c1c; stroke-width: 2; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4em; }
.keys { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }
.key { border: 1px solid var(--line); border-left: 6px solid #9aa4ad; border-radius: 6px; padding: 10px 14px; }
.key.current { border-left-color: #2e7d32; } .key.next { border-left-color: #1565c0; } .key.valid { border-left-color: #00897b; }
.key.revoked { border-left-color: #c62828; } .key.not-yet-valid { border-left-color: #90caf9; }
.key h3 { margin-top: .2em; }
.badge { display: inline-block; font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 1px 8px; border-radius: 10px; background: #eaeef2; margin-left: 6px; vertical-align: middle; }
.key.current .badge { background: #c8e6c9; } .key.next .badge { background: #bbdefb; } .key.revoked .badge { background: #ffcdd2; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; font-size: .92rem; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
.no { color: #c62828; font-weight: 600; } .yes { color: #2e7d32; font-weight: 600; }
footer { color: var(--muted); font-size: .85rem; padding-bottom: 30px; margin-top: 30px; }
@media (max-width: 700px) {
  body { font-size: 15px; }
  header, main, footer { padding: 0 12px; }
  svg.timeline text { font-size: 17px; }
  .keys { grid-template-columns: 1fr; }
}
"#;

fn card(k: &PageKey) -> String {
    let e = escape;
    let chain = match (k.cross_signed, &k.predecessor) {
        (Some(true), Some(p)) => format!(
            r#"<span class="yes">yes</span>: certified by {}{}"#,
            e(p),
            k.cross_signed_at
                .map(|t| format!(" on {}", clock::day(t)))
                .unwrap_or_default()
        ),
        (Some(false), Some(p)) => match &k.cross_sign_void {
            Some(why) => format!(
                r#"<span class="no">no</span>: {}'s certification does not count ({}): a gap in the chain"#,
                e(p),
                e(why)
            ),
            None => format!(
                r#"<span class="no">no</span>: {} did not certify it (a gap in the chain)"#,
                e(p)
            ),
        },
        _ if k.cycle.is_none() => "— (its user ID names no cycle)".to_string(),
        _ => "— (the first key on this page)".to_string(),
    };
    let certified = if k.certified_by.is_empty() {
        e(&k.certified_note)
    } else {
        format!(
            "{} <br><small>{}</small>",
            k.certified_by
                .iter()
                .map(|s| e(s))
                .collect::<Vec<_>>()
                .join("<br>"),
            e(&k.certified_note)
        )
    };
    let events = if k.events.is_empty() {
        String::new()
    } else {
        format!(
            "<dt>Events</dt><dd>{}</dd>",
            k.events
                .iter()
                .map(|ev| format!("{}: {}", clock::day(ev.time), e(&ev.text)))
                .collect::<Vec<_>>()
                .join("<br>")
        )
    };
    format!(
        r#"<article class="key {class}" id="key-{fpr}"><h3>{title}<span class="badge">{status}</span></h3><dl><dt>User ID</dt><dd>{uid}</dd><dt>Fingerprint</dt><dd class="fpr">{grouped}</dd><dt>Algorithm</dt><dd>{algo}</dd><dt>Valid</dt><dd>{created} – {expires}</dd><dt>Status</dt><dd>{status_text}</dd><dt>Certified by</dt><dd>{certified}</dd><dt>Predecessor</dt><dd>{chain}</dd>{events}<dt>Key file</dt><dd><a href="{file}">{file_name}</a></dd></dl></article>"#,
        class = k.status.class(),
        fpr = e(&k.name.fingerprint),
        title = e(k.cycle.as_deref().unwrap_or(&k.name.label)),
        status = k.status.word(),
        uid = e(&k.name.uid),
        grouped = e(&k.name.fingerprint_grouped),
        algo = e(&k.name.algorithm),
        created = clock::day(k.created),
        expires = k
            .expires
            .map(clock::day)
            .unwrap_or_else(|| "no expiry".into()),
        status_text = e(&k.status_text),
        file = e(&k.file),
        file_name = e(k.file.trim_start_matches("keys/")),
    )
}

/// The text alternative of the timeline.
fn timeline_text(page: &Page) -> String {
    let mut out = String::from(r#"<ol class="timeline-text">"#);
    for k in &page.keys {
        let mut line = format!(
            "{}: {} – {}, {}",
            escape(k.cycle.as_deref().unwrap_or(&k.name.label)),
            clock::day(k.created),
            k.expires
                .map(clock::day)
                .unwrap_or_else(|| "no expiry".into()),
            escape(&k.status_text)
        );
        match (k.cross_signed, &k.predecessor) {
            (Some(true), Some(p)) => line.push_str(&format!("; certified by {}", escape(p))),
            (Some(false), Some(p)) => line.push_str(&format!(
                "; <strong>not</strong> certified by {}{}",
                escape(p),
                k.cross_sign_void
                    .as_ref()
                    .map(|w| format!(" (its certification does not count: {})", escape(w)))
                    .unwrap_or_default()
            )),
            _ => {}
        }
        for ev in &k.events {
            line.push_str(&format!("; {} {}", clock::day(ev.time), escape(&ev.text)));
        }
        out.push_str(&format!("<li>{line}</li>"));
    }
    out.push_str("</ol>");
    out
}

/// The key the verification commands use: the current one, else the
/// newest valid one, else the newest.
fn example_key(page: &Page) -> Option<&PageKey> {
    page.keys
        .iter()
        .find(|k| k.status == Status::Current)
        .or_else(|| {
            page.keys
                .iter()
                .find(|k| matches!(k.status, Status::Valid | Status::Next))
        })
        .or_else(|| page.keys.first())
}

/// The one-line gpg check keycycle prints for scripts: passes only with
/// `GOODSIG` and a `VALIDSIG` whose primary fingerprint is `fpr`, and no
/// `REVKEYSIG`, `EXPKEYSIG`, `EXPSIG`, `BADSIG` or `ERRSIG` (gpg exits 0
/// for a revoked or expired key's signature). Plain text: escape it for
/// HTML. The runbooks carry the same line (tests/it/gpg_snippets.rs).
pub fn gpg_check(sig: &str, file: &str, fpr: &str) -> String {
    format!(
        "gpg --status-fd 1 --verify {sig} {file} 2>/dev/null | awk -v fpr={fpr} '$2 == \"GOODSIG\" {{ good = 1 }} $2 ~ /^(REVKEYSIG|EXPKEYSIG|EXPSIG|BADSIG|ERRSIG)$/ {{ bad = 1 }} $2 == \"VALIDSIG\" && $NF == fpr {{ valid = 1 }} END {{ exit !(good && valid && !bad) }}'"
    )
}

fn how_to_verify(page: &Page) -> String {
    let Some(k) = example_key(page) else {
        return String::new();
    };
    let file = escape(&k.file);
    format!(
        r#"<section id="verify"><h2>How to verify a release</h2>
<p>Every release artifact <code>FILE</code> is published with a detached signature <code>FILE.asc</code>, made by the key of the cycle it was released in. The commands below use the {label} key (<a href="{file}">{file}</a>, fingerprint <span class="fpr">{grouped}</span>); for another cycle use that cycle's key file, or the folder <code>keys/</code> holding them all. Each command prints the fingerprint of the signing key: it must be one listed on this page.</p>
<h3>With gpg</h3>
<pre><code>gpg --import {file}
gpg --verify FILE.asc FILE</code></pre>
<p>Look for <code>Good signature</code> and <code>Primary key fingerprint: {grouped}</code>; the warning that the key is not certified with a trusted signature only says that you have not certified it yourself. gpg's exit status is 0 for a signature by a <em>revoked</em> or expired key too, and gpg ignores revocation dates and reasons: in a script, require <code>GOODSIG</code> and the fingerprint, and refuse every other verdict (or use sqv, below, which judges revocations exactly):</p>
<pre><code>{check}</code></pre>
<p>A whole directory (each <code>*.asc</code> against the file it signs):</p>
<pre><code>gpg --import keys/*.asc
for sig in dist/*.asc; do {dir_loop} || echo "BAD: $sig"; done</code></pre>
<h3>With sqv</h3>
<pre><code>sqv --keyring {file} FILE.asc FILE</code></pre>
<pre><code>for sig in dist/*.asc; do sqv --keyring {file} "$sig" "${{sig%.asc}}" || echo "BAD: $sig"; done</code></pre>
<p>sqv prints the signing key's fingerprint and exits 0 only for a good signature by a key in the keyring.</p>
<h3>With keycycle</h3>
<pre><code>keycycle verify --cert {file} FILE</code></pre>
<pre><code>keycycle verify --cert keys/ dist/*.tar.gz dist/*.whl</code></pre>
<p>keycycle finds <code>FILE.asc</code> next to each file and checks every file against the key of its cycle among <code>keys/</code>; it also checks that the key was alive and not revoked when it signed, refuses SHA-1, and names the cycle key that signed each file.</p>
</section>"#,
        check = escape(&gpg_check("FILE.asc", "FILE", &k.name.fingerprint)),
        dir_loop = escape(&gpg_check(
            "\"$sig\"",
            "\"${sig%.asc}\"",
            &k.name.fingerprint
        )),
        label = escape(k.cycle.as_deref().unwrap_or(&k.name.label)),
        grouped = escape(&k.name.fingerprint_grouped),
    )
}

fn chain_summary(page: &Page) -> String {
    let short = |l: &String| escape(l.split(" (").next().unwrap_or(l));
    match (page.longest_chain.first(), page.longest_chain.last()) {
        (Some(a), Some(b)) if page.longest_chain.len() > 1 => format!(
            "The longest unbroken chain of predecessor certifications runs from {} to {} ({} keys); {} key{} {} not certified by {} predecessor.",
            short(a),
            short(b),
            page.longest_chain.len(),
            page.gaps,
            if page.gaps == 1 { "" } else { "s" },
            if page.gaps == 1 { "is" } else { "are" },
            if page.gaps == 1 { "its" } else { "their" },
        ),
        _ => format!(
            "No key on this page is certified by its predecessor ({} gap{}).",
            page.gaps,
            if page.gaps == 1 { "" } else { "s" }
        ),
    }
}

/// The whole `index.html`.
pub fn render(page: &Page) -> String {
    let title = escape(&page.title);
    let cards: String = page.keys.iter().map(card).collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="lead">{n} OpenPGP keys that sign the release artifacts, one per development cycle, as of {date}. {chain}</p>
</header>
<main>
<section id="timeline"><h2>Timeline</h2>
<figure><div class="scroll">{svg}</div>
<figcaption>Each bar runs from a key's creation to its expiry; the hatched part overlaps the predecessor's validity. Green links: the predecessor certified the key; red dashed crossings: it did not. The dashed purple line is now.</figcaption></figure>
<h3>Timeline as text</h3>
{text}
</section>
{verify}
<section id="keys"><h2>The keys, newest first</h2>
<div class="keys">{cards}</div>
</section>
</main>
<footer>Generated by keycycle as of {iso}. Public keys only; every key file is linked from its card.</footer>
</body>
</html>
"#,
        n = page.keys.len(),
        date = clock::day(page.time),
        iso = clock::iso(page.time),
        chain = chain_summary(page),
        svg = timeline::svg(page),
        text = timeline_text(page),
        verify = how_to_verify(page),
    )
}
