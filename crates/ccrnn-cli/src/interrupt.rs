//! Ctrl-C (SIGINT) and SIGTERM (a batch system's time limit) during a long fit: the first
//! signal asks the fit to stop after the current step, so that what it has is saved and marked
//! interrupted; a second one quits at once. Only commands that watch for the request install
//! the handler: everywhere else a signal ends the process as usual.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Exit code of a run stopped by a signal (128 + SIGINT), after it saved what it had.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler (once per process; later calls do nothing).
pub fn watch() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                crate::ui::err_line(format_args!("interrupted again: quitting without saving"));
                std::process::exit(EXIT_INTERRUPTED);
            }
            crate::ui::err_line(format_args!(
                "interrupted: stopping after this step and saving what the fit has (again to quit at once)"
            ));
        });
        if let Err(e) = installed {
            crate::ui::err_line(format_args!(
                "warning: no Ctrl-C handler ({e}): an interrupt will save nothing"
            ));
        }
    });
}

/// Whether a signal has asked the run to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Wraps a fit observer: stops the fit ([`ccrnn_fit::Flow::Stop`]) once a signal has come,
/// checking at every step, and otherwise hands the state on.
pub fn stoppable<F: ccrnn_core::Real>(mut inner: impl ccrnn_fit::Observer<F>) -> impl ccrnn_fit::Observer<F> {
    move |s: &ccrnn_fit::IterState<F>| {
        if requested() {
            return Ok(ccrnn_fit::Flow::Stop);
        }
        inner.observe(s)
    }
}
