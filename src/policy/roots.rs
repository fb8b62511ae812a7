//! The signed policy as the roots [`crate::custody`] seals escrows to.

use super::Policy;
use crate::base::error::Result;
use crate::custody::{Recipient, Roots};

impl Roots for Policy {
    fn holders(&self) -> Vec<(&str, &str)> {
        self.roots
            .iter()
            .map(|r| (r.name.as_str(), r.escrow_recipient.as_str()))
            .collect()
    }

    fn recipients(&self) -> Result<Vec<Recipient>> {
        Policy::recipients(self)
    }

    fn escrow_threshold(&self) -> u8 {
        self.escrow_threshold
    }

    fn revocation_threshold(&self) -> u8 {
        self.revocation_threshold
    }
}
