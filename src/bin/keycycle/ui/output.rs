//! The one writer for what a command writes for the user: `-o FILE`
//! (temporary name, then rename; an existing file only with
//! `--overwrite`), or standard output.

use std::path::Path;

use keycycle::base::fs::atomic;

/// [`write_output`] as `-o FILE`/`--overwrite` say.
pub fn write_to(out: &crate::cli::OutputArgs, bytes: &[u8], mode: u32) -> keycycle::Result<()> {
    write_output(out.output.as_deref(), bytes, out.overwrite, mode)
}

/// Write `bytes` to `path` with `mode`, or to stdout without a path.
pub fn write_output(
    path: Option<&Path>,
    bytes: &[u8],
    overwrite: bool,
    mode: u32,
) -> keycycle::Result<()> {
    match path {
        Some(p) => atomic::write_new(p, bytes, overwrite, mode),
        None => {
            super::emit(&String::from_utf8_lossy(bytes));
            Ok(())
        }
    }
}
