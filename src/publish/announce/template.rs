//! The announcement's template language: a small subset of Mustache.
//!
//! `{{name}}` is replaced by a value; `{{#name}}…{{/name}}` keeps its body
//! when the flag `name` is true, `{{^name}}…{{/name}}` when it is false.
//! A line holding only a section tag disappears with the tag, so sections
//! can stand on lines of their own. An unknown name, an unclosed or a
//! stray section is an error naming its line: a team's edited template
//! fails loudly instead of announcing a key with a hole in the text.

use std::collections::BTreeMap;

use crate::base::error::{Error, Result};

/// What a template can use: values and flags.
#[derive(Debug, Default, Clone)]
pub struct Context {
    pub values: BTreeMap<&'static str, String>,
    pub flags: BTreeMap<&'static str, bool>,
}

impl Context {
    pub fn value(&mut self, name: &'static str, v: impl Into<String>) {
        self.values.insert(name, v.into());
    }

    pub fn flag(&mut self, name: &'static str, v: bool) {
        self.flags.insert(name, v);
    }

    fn known(&self) -> String {
        let v: Vec<String> = self.values.keys().map(|k| format!("{{{{{k}}}}}")).collect();
        let f: Vec<String> = self.flags.keys().map(|k| format!("{{{{#{k}}}}}")).collect();
        format!("{} and the sections {}", v.join(" "), f.join(" "))
    }
}

#[derive(Debug, PartialEq)]
enum Tag<'a> {
    Value(&'a str),
    Open(&'a str, bool),
    Close(&'a str),
}

/// Split a line into text and tags.
fn tokens(line: &str) -> std::result::Result<Vec<(Option<Tag<'_>>, &str)>, String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push((None, &rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "'{{' without a closing '}}'".to_string())?;
        let inner = after[..end].trim();
        let tag = if let Some(n) = inner.strip_prefix('#') {
            Tag::Open(n.trim(), true)
        } else if let Some(n) = inner.strip_prefix('^') {
            Tag::Open(n.trim(), false)
        } else if let Some(n) = inner.strip_prefix('/') {
            Tag::Close(n.trim())
        } else {
            Tag::Value(inner)
        };
        out.push((Some(tag), ""));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push((None, rest));
    }
    Ok(out)
}

/// Render `template` with `ctx`.
pub fn render(template: &str, ctx: &Context) -> Result<String> {
    let fail = |line: usize, msg: String| {
        Error::input(
            format!("announcement template, line {line}: {msg}"),
            format!(
                "fix the template ([announce] template in keycycle.toml); it may use {}",
                ctx.known()
            ),
        )
    };
    let mut out = String::new();
    // Open sections: (name, line, whether their body is shown).
    let mut stack: Vec<(&str, usize, bool)> = Vec::new();
    for (i, line) in template.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let toks = tokens(body).map_err(|m| fail(n, m))?;
        let standalone = !toks.is_empty()
            && toks.iter().all(|(t, s)| match t {
                Some(Tag::Open(..)) | Some(Tag::Close(_)) => true,
                Some(Tag::Value(_)) => false,
                None => s.trim().is_empty(),
            })
            && toks.iter().any(|(t, _)| t.is_some());
        let mut text = String::new();
        for (tag, s) in toks {
            let shown = stack.iter().all(|(_, _, on)| *on);
            match tag {
                None => {
                    if shown && !standalone {
                        text.push_str(s);
                    }
                }
                Some(Tag::Value(name)) => {
                    let v = ctx
                        .values
                        .get(name)
                        .ok_or_else(|| fail(n, format!("unknown placeholder {{{{{name}}}}}")))?;
                    if shown {
                        text.push_str(v);
                    }
                }
                Some(Tag::Open(name, want)) => {
                    let v = ctx
                        .flags
                        .get(name)
                        .ok_or_else(|| fail(n, format!("unknown section {{{{#{name}}}}}")))?;
                    stack.push((name, n, *v == want));
                }
                Some(Tag::Close(name)) => match stack.pop() {
                    Some((open, _, _)) if open == name => {}
                    Some((open, l, _)) => {
                        return Err(fail(
                            n,
                            format!("{{{{/{name}}}}} closes {{{{#{open}}}}} of line {l}"),
                        ))
                    }
                    None => return Err(fail(n, format!("{{{{/{name}}}}} closes no section"))),
                },
            }
        }
        // `text` holds only what is shown; the line's end goes with the
        // state the line ends in.
        out.push_str(&text);
        if !standalone && stack.iter().all(|(_, _, on)| *on) {
            out.push_str(newline);
        }
    }
    if let Some((name, l, _)) = stack.pop() {
        return Err(fail(l, format!("{{{{#{name}}}}} is never closed")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        let mut c = Context::default();
        c.value("name", "Indri");
        c.value("empty", "");
        c.flag("yes", true);
        c.flag("no", false);
        c
    }

    #[test]
    fn values_and_sections() {
        let t = "key {{name}}\n{{#yes}}\nshown {{name}}\n{{/yes}}\n{{#no}}\nhidden\n{{/no}}\n{{^no}}not no{{/no}}\nend\n";
        assert_eq!(
            render(t, &ctx()).unwrap(),
            "key Indri\nshown Indri\nnot no\nend\n"
        );
    }

    #[test]
    fn nested_sections() {
        let t = "{{#yes}}\na\n{{#no}}\nb\n{{/no}}\nc\n{{/yes}}\n";
        assert_eq!(render(t, &ctx()).unwrap(), "a\nc\n");
        let t = "{{#no}}\n{{#yes}}\nb\n{{/yes}}\n{{/no}}\nz";
        assert_eq!(render(t, &ctx()).unwrap(), "z");
    }

    #[test]
    fn errors_name_the_line() {
        let e = render("a\n{{nope}}\n", &ctx()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("{{nope}}"), "{e}");
        let e = render("{{#yes}}\n", &ctx()).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("never closed"), "{e}");
        let e = render("{{#yes}}{{/no}}\n", &ctx()).unwrap_err().to_string();
        assert!(e.contains("closes"), "{e}");
        let e = render("x {{name\n", &ctx()).unwrap_err().to_string();
        assert!(e.contains("closing"), "{e}");
        let e = render("{{/yes}}\n", &ctx()).unwrap_err().to_string();
        assert!(e.contains("closes no section"), "{e}");
    }

    #[test]
    fn a_value_line_that_renders_empty_is_kept() {
        assert_eq!(render("[{{empty}}]\n\n", &ctx()).unwrap(), "[]\n\n");
    }
}
