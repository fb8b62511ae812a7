//! The integration tests: one test binary (`cargo test --test it`), one
//! module per area, the shared harness in `common`. One binary links
//! sequoia once instead of once per file; its tests share one pool of
//! test threads. `cargo test --test it MODULE::` runs one area.

mod common;

mod announce;
mod attest;
mod bad_input;
mod bounded_input;
#[cfg(feature = "card")]
mod card;
mod ceremony;
mod cert_copies;
mod certification_validity;
mod cli;
mod cmd;
mod crash;
mod cycles;
mod escrow_plugin;
mod examples;
mod features;
mod fuzz_smoke;
mod generate;
mod gpg_snippets;
mod inspect;
mod interop;
mod keyserver_faults;
mod ladder_after_extend;
mod maintain;
mod manifest;
mod monitoring;
mod page;
mod paths;
mod policy;
mod policy_as_of;
mod policy_history;
mod policy_in_sight;
mod realworld;
mod release_twice;
mod revocation_escrow;
mod revocation_threshold;
mod revoke_prompt;
mod runbooks;
mod secret_hygiene;
mod signed_facts;
mod signed_keys;
mod signing;
mod sq_snippets;
mod ssh_passphrase;
mod structure;
mod ten_years;
mod terminal_escapes;
mod vault_attacks;
mod verify_messages;
mod vks;
mod wkd;
