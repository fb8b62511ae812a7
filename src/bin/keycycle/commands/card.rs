//! `keycycle card status` and `keycycle card load` (the `card` feature).

use super::{Ctx, Outcome};
use crate::cli::CardCommand;

#[cfg(not(feature = "card"))]
pub fn run(_: &Ctx, _: &CardCommand) -> Outcome {
    Err(keycycle::Error::input(
        "this keycycle was built without OpenPGP card support",
        "build it with `cargo build --release --features card` (needs libpcsclite-dev and pkg-config)",
    ))
}

#[cfg(feature = "card")]
pub fn run(ctx: &Ctx, cmd: &CardCommand) -> Outcome {
    match cmd {
        CardCommand::Status(a) => with_card::status(ctx, a),
        CardCommand::Load(a) => with_card::load(ctx, a),
    }
}

#[cfg(feature = "card")]
mod with_card {
    use std::process::ExitCode;
    use std::sync::Arc;

    use serde::Serialize;

    use keycycle::custody;
    use keycycle::custody::card::{self, CardStatus, Slot};
    use keycycle::custody::token::{BatchUi, TokenUi};
    use keycycle::vault::{CardRecord, KeyChange, StoredKey, Vault};
    use keycycle::Error;

    use super::{Ctx, Outcome};
    use crate::cli::{CardLoadArgs, CardStatusArgs};
    use crate::ui;

    /// What the vault knows about one slot's key.
    #[derive(Serialize)]
    struct SlotView {
        slot: Slot,
        fingerprint: Option<String>,
        /// `2027.1 primary`, `2027.1 subkey`, or absent: not a vault key.
        #[serde(skip_serializing_if = "Option::is_none")]
        vault_key: Option<String>,
        /// The vault records this card and slot for that key.
        recorded: bool,
    }

    #[derive(Serialize)]
    struct CardView {
        #[serde(flatten)]
        card: CardStatus,
        matches: Vec<SlotView>,
    }

    fn grouped(hex: &str) -> String {
        hex.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn view(card: CardStatus, keys: &[StoredKey]) -> CardView {
        let matches =
            card.slots
                .iter()
                .map(|s| {
                    let fpr = s.fingerprint.clone();
                    let found =
                        fpr.as_deref().and_then(|f| {
                            keys.iter().find_map(|k| {
                                if k.cert.fingerprint().to_hex().eq_ignore_ascii_case(f) {
                                    Some((k, "primary"))
                                } else if k.cert.keys().subkeys().any(|sk| {
                                    sk.key().fingerprint().to_hex().eq_ignore_ascii_case(f)
                                }) {
                                    Some((k, "subkey"))
                                } else {
                                    None
                                }
                            })
                        });
                    SlotView {
                        slot: s.slot,
                        vault_key: found.map(|(k, what)| format!("{} {what}", k.state.cycle)),
                        recorded: found.is_some_and(|(k, _)| {
                            k.state.cards.iter().any(|c| {
                                c.ident == card.ident
                                    && c.slot == s.slot.name()
                                    && fpr
                                        .as_deref()
                                        .is_some_and(|f| c.fingerprint.eq_ignore_ascii_case(f))
                            })
                        }),
                        fingerprint: fpr,
                    }
                })
                .collect();
        CardView { card, matches }
    }

    pub fn status(ctx: &Ctx, args: &CardStatusArgs) -> Outcome {
        let cards = match &args.card {
            Some(i) => vec![card::status(Some(i))?],
            None => card::list()?,
        };
        if cards.is_empty() {
            return Err(Error::input(
                "no OpenPGP card found: no card in the reader",
                card::NO_CARD_HINT,
            ));
        }
        // Outside a vault the cards are still shown, unmatched.
        let keys = ctx
            .open_vault()
            .ok()
            .map(|v| v.keys())
            .transpose()?
            .unwrap_or_default();
        let views: Vec<CardView> = cards.into_iter().map(|c| view(c, &keys)).collect();
        ctx.show(&ui::Reply::new(&views, |_| {
            let mut out = String::new();
            for v in &views {
                let c = &v.card;
                out.push_str(&format!(
                    "OpenPGP card {} ({}, serial {})\n",
                    keycycle::base::text::shown(&c.ident),
                    keycycle::base::text::shown(&c.manufacturer),
                    c.serial
                ));
                for (s, m) in c.slots.iter().zip(&v.matches) {
                    let what = match (&s.fingerprint, &m.vault_key) {
                        (None, _) => "empty".to_string(),
                        (Some(f), None) => format!("{}  (not a key in this vault)", grouped(f)),
                        (Some(f), Some(k)) if m.recorded => {
                            format!("{}  {k}; matches the vault's record", grouped(f))
                        }
                        (Some(f), Some(k)) => format!(
                            "{}  {k}; not recorded in the vault (keycycle card load)",
                            grouped(f)
                        ),
                    };
                    out.push_str(&format!("  {:<15} {what}\n", format!("{}:", s.slot)));
                }
                out.push_str(&format!(
                    "  signatures made: {}; PIN tries left: user {}, admin {}\n",
                    c.signature_count, c.user_pin_retries, c.admin_pin_retries
                ));
            }
            Ok(out)
        }))?;
        Ok(ExitCode::SUCCESS)
    }

    /// The admin PIN comes from --admin-pin-file, or a prompt; never from
    /// --pin-file or KEYCYCLE_PIN (those are the user PIN).
    fn admin_pin_ui(ctx: &Ctx, args: &CardLoadArgs) -> Result<Arc<dyn TokenUi>, Error> {
        match &args.admin_pin_file {
            Some(f) => ui::token::for_run(ctx.batch, Some(f)),
            None if ui::interactive(ctx.batch) => ui::token::for_run(ctx.batch, None),
            None => Ok(Arc::new(BatchUi::default())),
        }
    }

    /// Drop other keys' records of this card slot (the load replaced them).
    fn forget_slot(vault: &Vault, except: &str, ident: &str, slot: Slot) -> Result<(), Error> {
        for k in vault.keys()? {
            if k.state.fingerprint == except {
                continue;
            }
            let mut state = k.state.clone();
            state
                .cards
                .retain(|c| !(c.ident == ident && c.slot == slot.name()));
            if state.cards.len() != k.state.cards.len() {
                vault.update_key(&k, KeyChange::state(&state))?;
            }
        }
        Ok(())
    }

    pub fn load(ctx: &Ctx, args: &CardLoadArgs) -> Outcome {
        let vault = ctx.lock_vault("card load")?;
        let key = ctx.find_key(&vault, args.key.get())?;
        let fpr = key.state.fingerprint.clone();
        // The card first: no escrow is opened for a missing or full card.
        let before = card::status(args.card.as_deref())?;
        if let Some(held) = before.signature_fingerprint() {
            if !held.eq_ignore_ascii_case(&fpr) && !args.overwrite {
                return Err(Error::input(
                    format!(
                        "OpenPGP card {} already holds key {held} in its signature slot",
                        before.ident
                    ),
                    "pass --overwrite to replace it, or use another card",
                ));
            }
        }
        if args.ids.identity.is_empty() {
            return Err(Error::input(
                "loading the card needs the primary secret from the escrow",
                "pass --identity FILE (your escrow identity)",
            ));
        }
        let pins = admin_pin_ui(ctx, args)?;
        let ids = args.ids.load()?;
        let secret = custody::open(&vault, &key, &ids)?;
        let loaded = card::load_primary(secret.cert(), Some(&before.ident), pins.as_ref())?;
        drop(secret);
        let c = &loaded.card;
        let mut state = key.state.clone();
        state
            .cards
            .retain(|r| !(r.ident == c.ident && r.slot == loaded.slot.name()));
        state.cards.push(CardRecord {
            ident: c.ident.clone(),
            serial: c.serial,
            slot: loaded.slot.name().into(),
            fingerprint: fpr.clone(),
            loaded: ctx.at,
        });
        vault.update_key(&key, KeyChange::state(&state))?;
        forget_slot(&vault, &fpr, &c.ident, loaded.slot)?;
        vault.audit(
            ctx.at,
            "card load",
            serde_json::json!({
                "fingerprint": fpr,
                "card": c.ident,
                "serial": c.serial,
                "slot": loaded.slot.name(),
            }),
        )?;
        ctx.show(&ui::Reply::new(&loaded, |_| {
            Ok(format!(
                "{} {}: the primary key is now in the {} slot of OpenPGP card {} (serial {}).\n\
                 The escrow stays the recovery path; the vault records the card.\n",
                key.state.cycle,
                grouped(&fpr),
                loaded.slot,
                c.ident,
                c.serial
            ))
        }))?;
        Ok(ExitCode::SUCCESS)
    }
}
