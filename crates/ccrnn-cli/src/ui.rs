//! What the user sees while a command runs: stage messages and progress bars on stderr,
//! hidden with `--quiet` (and bars hidden whenever stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Output settings of one invocation.
pub struct Ui {
    /// No messages or bars on stderr.
    pub quiet: bool,
    /// One JSON document on stdout instead of the human table.
    pub json: bool,
}

impl Ui {
    pub fn new(quiet: bool, json: bool) -> Self {
        Self { quiet, json }
    }

    /// A stage message on stderr.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A progress bar of `len` steps, labelled `what`.
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos:>5}/{len} {msg} ({elapsed}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        bar
    }

    /// Clears the current line of a bar before an error message.
    pub fn clear(&self) {
        if !self.quiet && std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K");
        }
    }
}
