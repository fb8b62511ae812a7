//! The one printer: a command hands its result to [`show`], which writes
//! it as JSON under `--json` and as text for a person otherwise. No
//! command branches on `--json` itself.

use serde::{Serialize, Serializer};

/// A command's result: it serialises to JSON and knows how to show itself
/// to a person.
pub trait Show: Serialize {
    /// The text for a person on stdout (`verbose`: how many `-v`). Lines
    /// that go beside the result on stderr are said (`ui::say`) here, in
    /// their order with the rest.
    fn human(&self, verbose: u8) -> keycycle::Result<String>;
}

/// Print `value`: its JSON when `json`, else its text.
pub fn show<T: Show>(json: bool, verbose: u8, value: &T) -> keycycle::Result<()> {
    if json {
        return super::emit_json(value);
    }
    let text = value.human(verbose)?;
    if !text.is_empty() {
        super::emit(&text);
    }
    Ok(())
}

/// A value for the JSON and how to write it for a person, for a result
/// that has no type of its own: `Reply::new(&report, |verbose| …)`.
pub struct Reply<T, F> {
    value: T,
    text: F,
}

impl<T, F> Reply<T, F>
where
    T: Serialize,
    F: Fn(u8) -> keycycle::Result<String>,
{
    pub fn new(value: T, text: F) -> Self {
        Reply { value, text }
    }
}

impl<T: Serialize, F> Serialize for Reply<T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<T, F> Show for Reply<T, F>
where
    T: Serialize,
    F: Fn(u8) -> keycycle::Result<String>,
{
    fn human(&self, verbose: u8) -> keycycle::Result<String> {
        (self.text)(verbose)
    }
}
