//! The `lakehunt` command: parse arguments, run, turn the outcome into an exit code.
//!
//! Exit codes: 0 ran (with or without findings), 1 findings with
//! `--fail-on-findings`, 2 any error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(cli::Outcome::Clean) => ExitCode::SUCCESS,
        Ok(cli::Outcome::Findings) => ExitCode::from(1),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", cli::one_line(&err));
            ExitCode::from(2)
        }
    }
}
