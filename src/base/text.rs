//! Text that reaches a terminal. Anything keycycle did not write itself —
//! a value from a vault file, a file name, a path, a certificate's user ID,
//! a keyserver's answer — may hold control characters: an escape sequence
//! that moves the cursor and erases lines, a carriage return that repaints
//! one, a newline that forges a second line, a bidirectional override that
//! reverses what follows. Such a value is shown through [`shown`]; the
//! terminal writers (`ui`) pass everything through [`lines`] (or [`line`])
//! as a backstop, so a value someone forgot still cannot move the cursor.

use std::borrow::Cow;
use std::path::Path;

/// Whether `c` can change how a terminal shows other text: every Unicode
/// control character (C0 with newline, carriage return, tab and escape,
/// DEL, C1 `U+0080`–`U+009F`), the bidirectional controls
/// (`U+061C`, `U+200E`, `U+200F`, `U+202A`–`U+202E`, `U+2066`–`U+2069`)
/// and the line and paragraph separators `U+2028`, `U+2029`.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// A value that did not come from keycycle itself, made safe to show and
/// unambiguous: every character of [`is_unsafe`] is written as an escape
/// (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`), and a backslash as `\\` (so a
/// name that spells `\u{1b}` is not taken for one that holds it).
/// Ordinary text, `Zoë` included, is unchanged.
pub fn shown(text: &str) -> String {
    if !text.chars().any(|c| c == '\\' || is_unsafe(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_unsafe(c) => escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// A path (a file name, a vault path) as [`shown`] text.
pub fn path(p: impl AsRef<Path>) -> String {
    shown(&p.as_ref().display().to_string())
}

/// Everything a terminal writer prints: each [`is_unsafe`] character but
/// newline and tab escaped, backslashes left as they are (text that went
/// through [`shown`] is unchanged).
pub fn lines(text: &str) -> Cow<'_, str> {
    backstop(text, |c| c == '\n' || c == '\t')
}

/// [`lines`] for what must stay one line (an error, a hint, a prompt):
/// newline and tab escaped too.
pub fn line(text: &str) -> Cow<'_, str> {
    backstop(text, |_| false)
}

fn backstop(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text (serde already escapes C0 inside strings) with the other
/// [`is_unsafe`] characters written as JSON escapes (`\u202e`): the same
/// document, safe on a terminal.
pub fn json(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && c != '\n' {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `name` for an error message: [`shown`], and cut to 40 characters.
pub fn shown_short(name: &str) -> String {
    let mut s = shown(&name.chars().take(40).collect::<String>());
    if name.chars().count() > 40 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_what_could_forge_a_line() {
        assert_eq!(shown("Ada <ada@example.org>"), "Ada <ada@example.org>");
        assert_eq!(shown("Zoë (2027.1)"), "Zoë (2027.1)");
        assert_eq!(shown("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(shown("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(shown("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown("back\\slash"), "back\\\\slash");
        assert!(!shown("\u{7}\u{0}\u{9b}").chars().any(char::is_control));
    }

    /// One of each class of character that can repaint a terminal.
    const HOSTILE: &[char] = &[
        '\u{0}', '\u{7}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1b}', '\u{7f}',
        '\u{80}', '\u{85}', '\u{9b}', '\u{9f}', '\u{61c}', '\u{200e}', '\u{200f}', '\u{2028}',
        '\u{2029}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}',
        '\u{2067}', '\u{2068}', '\u{2069}',
    ];

    #[test]
    fn shown_escapes_every_control_visibly() {
        for &c in HOSTILE {
            let s = shown(&format!("a{c}b"));
            assert!(!s.chars().any(is_unsafe), "{c:?} -> {s:?}");
            assert!(s.starts_with("a\\") && s.ends_with('b'), "{c:?} -> {s:?}");
        }
        assert_eq!(shown("\u{1b}[1A\u{1b}[2K"), "\\u{1b}[1A\\u{1b}[2K");
        assert_eq!(shown("\r1 of 3\n"), "\\r1 of 3\\n");
        assert_eq!(shown("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
        assert_eq!(shown("back\\slash"), "back\\\\slash");
        assert_eq!(
            shown("\\u{1b}"),
            "\\\\u{1b}",
            "a spelt escape is not a real one"
        );
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        for s in [
            "Zoë (2027.1) <zoe@example.org>",
            "keys/2027.1-0123ABCD",
            "日本語 עברית",
            "",
        ] {
            assert_eq!(shown(s), s);
            assert!(matches!(lines(s), Cow::Borrowed(_)));
            assert!(matches!(line(s), Cow::Borrowed(_)));
        }
        assert_eq!(path(Path::new("/v/keys/x\u{1b}")), "/v/keys/x\\u{1b}");
    }

    #[test]
    fn the_backstops_keep_layout_and_escape_the_rest() {
        let all: String = HOSTILE.iter().collect();
        let moving: String = HOSTILE
            .iter()
            .filter(|c| !matches!(c, '\n' | '\t'))
            .collect();
        let text = format!("GOOD\n\tx{moving}\\");
        let l = lines(&text);
        assert!(l.starts_with("GOOD\n\tx") && l.ends_with('\\'), "{l}");
        assert_eq!(l.matches('\n').count(), 1, "{l}");
        assert!(!l.chars().any(|c| is_unsafe(c) && c != '\n' && c != '\t'));
        let text = format!("error: {all}");
        let one = line(&text);
        assert!(!one.chars().any(is_unsafe), "{one}");
        // Text already shown passes the backstop unchanged.
        let s = shown(&all);
        assert_eq!(lines(&s), s);
    }

    #[test]
    fn json_stays_json() {
        let v = serde_json::json!({ "name": "a\u{1b}b\u{85}c\u{202e}d\u{1F600}" });
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json(&text);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }
}
