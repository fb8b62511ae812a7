//! `policy show` and `policy status` in words: a policy, its changes, its
//! signatures and a pending version. Every value is the file's, so every
//! value is escaped.

use keycycle::base::clock::Time;
use keycycle::base::text::shown;
use keycycle::policy::diff::{self, Change};
use keycycle::policy::{self, Pending, Policy, PolicyKey, Root, State};
use keycycle::vault::Vault;

/// One policy as people read it: every root with their recipient in
/// full. Every value is the file's, so every value is escaped.
pub(super) fn describe(p: &Policy, digest: &str) -> String {
    let n = p.roots.len();
    let mut out = format!(
        "policy version {} ({digest})\n  escrow: {} of {n} roots; revocations: {}; a change needs {} root signature(s)\n",
        p.version,
        p.escrow_threshold,
        match p.revocation_threshold {
            1 => "any one root".to_string(),
            r => format!("{r} of {n} roots"),
        },
        p.policy_threshold,
    );
    for r in &p.roots {
        out.push_str(&root_lines(r));
    }
    for k in &p.keys {
        out.push_str(&format!("  key   {}\n", key_text(k)));
    }
    out
}

/// A root as three lines (`root`, `OpenPGP`, `escrow`), the first without
/// its indent.
fn root_lines(r: &Root) -> String {
    format!(
        "  root  {} <{}>\n        OpenPGP {}\n        escrow  {}\n",
        shown(&r.name),
        shown(&r.email),
        r.fingerprint
            .as_deref()
            .map_or("none (cannot sign policy changes)".into(), shown),
        shown(&r.escrow_recipient)
    )
}

fn key_text(k: &PolicyKey) -> String {
    format!("{} {}", shown(&k.cycle), shown(&k.fingerprint))
}

/// What `changes` change, as `+`/`-`/`~` lines under a heading.
pub(super) fn describe_changes(changes: &[Change], base: u32, which: &str) -> String {
    if changes.is_empty() {
        return format!("no changes from version {base} ({which})\n");
    }
    let mut out = format!("changes from version {base} ({which}):\n");
    let fields = |out: &mut String, fields: &[diff::Field]| {
        for f in fields {
            let v = |v: &Option<String>| v.as_deref().map_or("(none)".into(), shown);
            out.push_str(&format!(
                "        {}: {} -> {}\n",
                f.name,
                v(&f.from),
                v(&f.to)
            ));
        }
    };
    for c in changes {
        match c {
            Change::RootAdded { root } => out.push_str(&format!("+{}", &root_lines(root)[1..])),
            Change::RootRemoved { root } => out.push_str(&format!("-{}", &root_lines(root)[1..])),
            Change::RootChanged { name, fields: f } => {
                out.push_str(&format!("~ root  {}\n", shown(name)));
                fields(&mut out, f);
            }
            Change::KeyAdded { key } => out.push_str(&format!("+ key   {}\n", key_text(key))),
            Change::KeyRemoved { key } => out.push_str(&format!("- key   {}\n", key_text(key))),
            Change::KeyChanged {
                fingerprint,
                fields: f,
            } => {
                out.push_str(&format!("~ key   {}\n", shown(fingerprint)));
                fields(&mut out, f);
            }
            Change::Changed { field } => {
                out.push_str(&format!("~ {}\n", field.name.replace('_', " ")));
                fields(
                    &mut out,
                    &[diff::Field {
                        name: "value".into(),
                        ..field.clone()
                    }],
                );
            }
        }
    }
    out
}

/// Root names (from the policy file) as a list.
fn names(list: &[String], sep: &str) -> String {
    list.iter().map(|n| shown(n)).collect::<Vec<_>>().join(sep)
}

/// `version 1 signed by N root(s): …; not yet: …` (version 1 is in force
/// on its pin; its signatures are shown, not required).
pub(super) fn version_one_line(vault: &Vault, state: &State, at: Time) -> keycycle::Result<String> {
    let bytes = policy::version_bytes(vault, 1)?;
    let (good, missing, _) = policy::signatures(vault, 1, &bytes, &state.policy, at);
    Ok(format!(
        "version 1 signed by {} root(s){}{}\n",
        good.len(),
        if good.is_empty() {
            String::new()
        } else {
            format!(": {}", names(&good, ", "))
        },
        if missing.is_empty() {
            String::new()
        } else {
            format!("; not yet: {}", names(&missing, ", "))
        }
    ))
}

/// The `pending:` line of a version waiting for signatures, and the line
/// for its own roots' co-signatures while they are short.
pub(super) fn pending_lines(p: &Pending) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "pending: version {} ({}): {} of {} signatures{}{}{}\n",
        p.policy.version,
        p.digest,
        p.signed_by.len(),
        p.needed,
        if p.signed_by.is_empty() {
            String::new()
        } else {
            format!(" (by {})", names(&p.signed_by, ", "))
        },
        if p.missing.is_empty() {
            String::new()
        } else {
            format!("; missing: {}", names(&p.missing, ", "))
        },
        if p.bad.is_empty() {
            String::new()
        } else {
            format!("; BAD: {}", names(&p.bad, "; "))
        },
    ));
    if p.own_signed_by.len() < p.own_needed {
        out.push_str(&format!(
            "         and its own roots must co-sign it: {} of {}{}\n",
            p.own_signed_by.len(),
            p.own_needed,
            if p.own_signed_by.is_empty() {
                String::new()
            } else {
                format!(" (by {})", names(&p.own_signed_by, ", "))
            },
        ));
    }
    out
}
