//! One file per command group, the twin of `cli/` with the same name:
//! arguments → library call → a result handed to [`Ctx::show`], which
//! prints its JSON (`--json`) or its text (`ui::Show`). No command file
//! uses another.

use std::path::PathBuf;
use std::process::ExitCode;

use keycycle::base::clock::Time;
use keycycle::vault::schedule::Schedule;
use keycycle::vault::{StoredKey, Vault};

use crate::cli::Command;

mod announce;
mod attestations;
mod audit;
mod card;
mod ceremony;
mod certify;
mod completions;
mod cross_sign;
mod cycles;
mod escrow;
mod export;
mod extend;
mod generate;
mod init;
mod inspect;
mod man;
mod manifest;
mod party;
mod policy;
mod publish;
mod revoke;
mod roster;
mod rotate_subkey;
mod sign;
mod status;
mod verify;

/// What every command gets from the global options.
pub struct Ctx {
    /// The vault directory as main.rs located it (`vault::discover`), or
    /// why it could not: an error only for the commands that open it.
    pub vault: keycycle::Result<PathBuf>,
    pub batch: bool,
    pub json: bool,
    pub at: Time,
    pub verbose: u8,
    /// Who is acting, for the audit log.
    pub operator: Option<String>,
}

impl Ctx {
    /// The vault directory.
    pub fn vault_dir(&self) -> keycycle::Result<&std::path::Path> {
        use keycycle::Error;
        match &self.vault {
            Ok(p) => Ok(p),
            Err(Error::Input { msg, hint }) => Err(Error::Input {
                msg: msg.clone(),
                hint: hint.clone(),
            }),
            Err(Error::Vault { msg, hint }) => Err(Error::Vault {
                msg: msg.clone(),
                hint: hint.clone(),
            }),
            Err(e) => Err(Error::vault(e.to_string(), "pass --vault DIR")),
        }
    }

    /// The vault, with the operator's name for its audit log.
    pub fn open_vault(&self) -> keycycle::Result<Vault> {
        Ok(Vault::open(self.vault_dir()?)?.with_operator(self.operator.clone()))
    }

    /// The vault, locked for a command that changes it.
    pub fn lock_vault(&self, command: &str) -> keycycle::Result<Vault> {
        self.open_vault()?.lock(command)
    }

    /// A key of `vault` named on the command line (`None`: the current
    /// cycle's), among those this machine trusts.
    pub fn find_key(&self, vault: &Vault, key: Option<&str>) -> keycycle::Result<StoredKey> {
        let schedule = Schedule::from_config(&vault.config()?)?;
        keycycle::policy::find_trusted(vault, key, &schedule, self.at)
    }
}

impl Ctx {
    /// Print a command's result: JSON under `--json`, else its text.
    pub fn show(&self, value: &impl crate::ui::Show) -> keycycle::Result<()> {
        crate::ui::show(self.json, self.verbose, value)
    }

    /// [`Ctx::show`], as JSON also when the command's own `--format json`
    /// asks for it.
    pub fn show_as(&self, json: bool, value: &impl crate::ui::Show) -> keycycle::Result<()> {
        crate::ui::show(self.json || json, self.verbose, value)
    }

    /// Print `text`, a machine format the command's own `--format FORMAT`
    /// chose; refused under `--json`.
    pub fn show_format(&self, format: &str, text: &str) -> keycycle::Result<()> {
        if self.json {
            return Err(keycycle::Error::input(
                format!("--json and --format {format} exclude each other"),
                "drop one of them",
            ));
        }
        crate::ui::emit(text);
        Ok(())
    }

    /// `--publish` after a change: send the key as it now is; a failure is
    /// the command's error (the change itself stands).
    pub fn publish_after(
        &self,
        vault: &Vault,
        fingerprint: &str,
        args: &crate::cli::PublishAfterArgs,
    ) -> keycycle::Result<()> {
        if !args.publish {
            return Ok(());
        }
        let key = self.find_key(vault, Some(fingerprint))?;
        let servers = keycycle::policy::keyservers(vault, self.at, &args.keyserver)?;
        let settings = keycycle::publish::Settings::default();
        let done = keycycle::publish::publish_key(vault, &key, &servers, None, &settings, self.at)?;
        for r in done.servers.iter().filter(|r| r.ok) {
            crate::ui::emit(&format!("published to {}\n", r.server));
        }
        match done.failed().first() {
            Some(r) => Err(keycycle::Error::vault(
                format!(
                    "the change is in the vault but publishing failed: {}: {}",
                    r.server, r.error
                ),
                "run `keycycle publish` again when the keyserver is reachable",
            )),
            None => Ok(()),
        }
    }
}

/// How a command ended when it did not fail.
pub type Outcome = keycycle::Result<ExitCode>;

/// Run the command.
pub fn run(ctx: &Ctx, command: &Command) -> Outcome {
    match command {
        Command::Init(a) => init::run(ctx, a),
        Command::Cycles(a) => cycles::run(ctx, a),
        Command::Roster(c) => roster::run(ctx, c),
        Command::Generate(a) => generate::run(ctx, a),
        Command::Ceremony(a) => ceremony::run(ctx, a),
        Command::Status(a) => status::run(ctx, a),
        Command::Inspect(a) => inspect::run(ctx, a),
        Command::Export(c) => export::run(ctx, c),
        Command::CrossSign(a) => cross_sign::run(ctx, a),
        Command::Certify(a) => certify::run(ctx, a),
        Command::Attestations(c) => attestations::run(ctx, c),
        Command::Publish(a) => publish::run(ctx, a),
        Command::Announce(a) => announce::run(ctx, a),
        Command::Party(c) => party::run(ctx, c),
        Command::Policy(c) => policy::run(ctx, c),
        Command::Extend(a) => extend::run(ctx, a),
        Command::RotateSubkey(a) => rotate_subkey::run(ctx, a),
        Command::Revoke(a) => revoke::run(ctx, a),
        Command::Escrow(c) => escrow::run(ctx, c),
        Command::Audit(c) => audit::run(ctx, c),
        Command::Card(c) => card::run(ctx, c),
        Command::Sign(a) => sign::run(ctx, a),
        Command::Verify(a) => verify::run(ctx, a),
        Command::Completions(a) => completions::run(ctx, a),
        Command::Man(a) => man::run(ctx, a),
    }
}
