//! Progress bars (indicatif) for long work, only on a terminal.

use std::io::IsTerminal;

/// A byte-progress bar on stderr for long work, when stderr is a terminal.
pub fn progress(total_bytes: u64, files: usize, batch: bool) -> Option<indicatif::ProgressBar> {
    let long = total_bytes > 256 * 1024 * 1024 || files > 500;
    if batch || !long || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total_bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
