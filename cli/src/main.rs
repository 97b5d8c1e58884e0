//! `restore-delta`: apply a restore-session PATCH body to a state file, or judge another
//! implementation's answer against the reference, from the shell.

mod apply;
mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::common::Usage;

/// Reference semantics of Microsoft Graph's restore-session update (OData delta PATCH).
#[derive(Parser, Debug)]
#[command(name = "restore-delta", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply a PATCH body to a restore-session state; print the response and the new state.
    #[command(after_help = apply::APPLY_EXAMPLES)]
    Apply(apply::ApplyArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's whole message: the missing flags, the possible values, the usage line.
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Apply(args) => apply::run(args),
    };
    match result {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("restore-delta: {msg}");
            ExitCode::from(2)
        }
    }
}
