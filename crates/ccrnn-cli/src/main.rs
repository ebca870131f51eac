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
mod interrupt;
mod plots;
mod run;
mod table;
mod ui;

use clap::{CommandFactory, FromArgMatches};

fn main() {
    // A file-size limit (`ulimit -f`) would otherwise kill the process with SIGXFSZ in the
    // middle of a write; ignored, the write fails with EFBIG and the run ends with one clean
    // error naming the file, its staging directory removed.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread is started.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let matches = negative_numbers(args::Cli::command()).get_matches();
    let cli = args::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let ui = ui::Ui::new(cli.quiet, cli.json);
    if let Some(t) = cli.threads {
        // Results do not depend on the thread count (fixed chunking); this only sets speed.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build_global();
    }
    commands::reproducible_if(cli.reproducible);
    match commands::run(cli.command, &ui) {
        Ok(code) => std::process::exit(code),
        // The reader closed the pipe: what it read was all it wanted (exit 0, as `head`'s
        // writers conventionally do, with no message).
        Err(e) if e.downcast_ref::<ui::StdoutClosed>().is_some() => std::process::exit(0),
        Err(e) => {
            ui.clear();
            let top = ccrnn_io::out_dir::public_message(&e.to_string());
            ui::err_line(format_args!("error: {top}"));
            // Library errors already include their cause in the message; print only new ones.
            for cause in e
                .chain()
                .skip(1)
                .map(|c| ccrnn_io::out_dir::public_message(&c.to_string()))
                .filter(|c| !top.contains(c.as_str()))
            {
                ui::err_line(format_args!("  caused by: {cause}"));
            }
            std::process::exit(2);
        }
    }
}

/// Lets every option that takes a value take a negative number, in every subcommand, so that
/// `--steps -1` is refused by the option's own parser, naming it (`invalid value '-1' for
/// '--steps <STEPS>'`), rather than read as an unknown flag `-1`.
fn negative_numbers(cmd: clap::Command) -> clap::Command {
    let subcommands: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    let mut cmd = cmd.mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    });
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, negative_numbers);
    }
    cmd
}
