//! The `lakehunt` command: parse arguments, run, turn the outcome into an exit code.
//!
//! Exit codes: 0 ran (with or without findings), 1 findings with
//! `--fail-on-findings`, 2 any error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// The command's thread stack: 256 MiB of address space.
const STACK: usize = 256 << 20;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Deep expressions (hundreds of ORs, nested parentheses) recurse in
    // planning; a thread with room for them turns a stack overflow into an
    // answer. The stack is reserved address space, used only as it grows.
    let ran = std::thread::Builder::new()
        .name("lakehunt".into())
        .stack_size(STACK)
        .spawn(move || cli::run(args))
        .map_err(anyhow::Error::from)
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
    match ran {
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
