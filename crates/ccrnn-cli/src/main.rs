//! `ccrnn`: connectome-constrained recurrent networks from the shell.
//!
//! Exit codes: 0 success, 2 error (bad input, failed run; the message names the file and the
//! problem), 1 a check that ran and failed (`config check`).

// Output goes through `ui::out!`/`outln!`/`err_line`, which report a closed pipe or a full
// disk instead of panicking as `println!` does.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod configs;
mod plots;
mod run;
mod table;
mod ui;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    let ui = ui::Ui::new(cli.quiet, cli.json);
    if let Some(t) = cli.threads {
        // Results do not depend on the thread count (fixed chunking); this only sets speed.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build_global();
    }
    match commands::run(cli.command, &ui) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            ui.clear();
            let top = e.to_string();
            ui::err_line(format_args!("error: {top}"));
            // Library errors already include their cause in the message; print only new ones.
            for cause in e
                .chain()
                .skip(1)
                .map(|c| c.to_string())
                .filter(|c| !top.contains(c.as_str()))
            {
                ui::err_line(format_args!("  caused by: {cause}"));
            }
            std::process::exit(2);
        }
    }
}
