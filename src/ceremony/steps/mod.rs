//! One file per ceremony step; [`run`] dispatches.

mod announcement;
mod attestation_request;
mod cross_sign;
mod drill;
mod export_public;
mod fingerprint;
mod generate;
mod publish;
mod signing_subkey;

use super::{Cx, Outcome, Step};
use crate::base::error::Result;

/// Run one step.
pub(super) fn run(step: Step, cx: &mut Cx) -> Result<Outcome> {
    match step {
        Step::Generate => generate::run(cx),
        Step::Fingerprint => fingerprint::run(cx),
        Step::Drill => drill::run(cx),
        Step::CrossSign => cross_sign::run(cx),
        Step::ExportPublic => export_public::run(cx),
        Step::Publish => publish::run(cx),
        Step::Announcement => announcement::run(cx),
        Step::SigningSubkey => signing_subkey::run(cx),
        Step::AttestationRequest => attestation_request::run(cx),
    }
}
