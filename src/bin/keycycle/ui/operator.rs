//! The person at the ceremony, as the library's ceremony sees them:
//! progress on stderr, questions through dialoguer.

use keycycle::ceremony::Operator;
use keycycle::Result;

/// The terminal (or, with `--batch`, no one to ask).
pub struct Terminal {
    pub batch: bool,
}

impl Operator for Terminal {
    fn say(&mut self, text: &str) {
        super::say(text);
    }

    fn interactive(&self) -> bool {
        super::interactive(self.batch)
    }

    fn confirm(&mut self, flag: &str, question: &str) -> Result<bool> {
        super::confirm(self.batch, flag, question)
    }

    fn input(&mut self, flag: &str, question: &str) -> Result<String> {
        super::input(self.batch, flag, question)
    }

    fn interrupted(&self) -> bool {
        super::interrupt::interrupted()
    }
}
