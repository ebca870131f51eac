//! What the user sees while a command runs: stage messages and progress bars on stderr,
//! hidden with `--quiet` (and bars hidden whenever stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};

/// Writes to standard output like `print!`, but returns the failure (a closed pipe, a full
/// disk) as an error for the command to report instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($t)*).map_err($crate::ui::stdout_failed)
    }};
}

/// Writes a line to standard output like `println!`, returning a failure as an error.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($t)*).map_err($crate::ui::stdout_failed)
    }};
}
pub(crate) use {out, outln};

/// The reader of standard output went away (`ccrnn … | head -1`): nothing is wrong with the
/// run, whose files are already in place; `main` exits quietly.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// The error of a failed write to standard output: [`StdoutClosed`] for a closed pipe, else
/// the failure (a full disk) to report.
pub fn stdout_failed(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return StdoutClosed.into();
    }
    anyhow::anyhow!("writing to standard output: {e}")
}

/// A line on standard error; if even that fails (`2> /dev/full`) there is nobody left to
/// tell, and the exit code says it.
pub fn err_line(msg: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

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
            err_line(format_args!("{}", msg.as_ref()));
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
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
