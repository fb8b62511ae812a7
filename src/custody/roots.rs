//! What custody needs of the signed policy in force: whose roots the
//! escrow is sealed to, and how many of them it takes. The policy
//! (`policy::Policy`) implements it: custody sits below the policy, which
//! parses its recipients with [`Recipient`], and never imports it.

use super::age::Recipient;
use crate::base::error::Result;

/// The roots an escrow is sealed to, and its thresholds.
pub trait Roots {
    /// Every root's name and stored escrow recipient, in order.
    fn holders(&self) -> Vec<(&str, &str)>;
    /// Every root's escrow recipient, parsed.
    fn recipients(&self) -> Result<Vec<Recipient>>;
    /// How many shares open the escrowed key (M of N).
    fn escrow_threshold(&self) -> u8;
    /// How many shares open the revocation certificates (R of N).
    fn revocation_threshold(&self) -> u8;
}
