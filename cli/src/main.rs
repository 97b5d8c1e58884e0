//! `restore-delta`: apply a restore-session PATCH body to a state file, or judge another
//! implementation's answer against the reference, or generate cases with their answers, from
//! the shell.

mod apply;
mod check;
mod common;
mod conform;
mod differential;
mod exchange;
mod generate;
mod har;
mod live;
mod report;

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
    /// Judge another implementation's answer to a PATCH (or every restore-session PATCH of a
    /// HAR capture) against the reference; exit 0 conformant, 1 not conformant.
    #[command(after_help = check::CHECK_EXAMPLES)]
    Check(check::CheckArgs),
    /// Generate cases (state, body, options, clock, seed) with the reference's answer, as
    /// conformance vectors, for fuzzing and differential testing of other implementations.
    #[command(after_help = generate::GEN_EXAMPLES)]
    Gen(generate::GenArgs),
    /// Run generated cases through another implementation (an external command speaking the
    /// vectors format) and write the first disagreement, minimised, as a vector file.
    #[command(after_help = differential::DIFFERENTIAL_EXAMPLES)]
    Differential(differential::DifferentialArgs),
    /// Test a live server through Graph's public restore-session endpoints: its own sessions
    /// created, PATCHed with generated sequences, read back and deleted, every answer judged
    /// by the reference; exit 0 no finding, 1 findings, 2 usage error or unreachable.
    #[command(after_help = conform::CONFORM_EXAMPLES)]
    Conform(Box<conform::ConformArgs>),
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
        Command::Check(args) => check::run(args),
        Command::Gen(args) => generate::run(args),
        Command::Differential(args) => differential::run(args),
        Command::Conform(args) => conform::run(*args),
    };
    match result {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("restore-delta: {msg}");
            ExitCode::from(2)
        }
    }
}
