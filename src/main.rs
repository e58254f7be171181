//! The `lakehunt` command: parse arguments, run, turn the outcome into an exit code.
//!
//! Exit codes: 0 ran (with or without findings), 1 findings with
//! `--fail-on-findings`, 2 any error (a panic too), 130/143 stopped by
//! SIGINT/SIGTERM.

mod cli;

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;

/// The command's thread stack: 256 MiB of address space.
const STACK: usize = 256 << 20;

/// The first panic's one line, printed at exit instead of Rust's report.
static PANIC: OnceLock<String> = OnceLock::new();

fn main() -> ExitCode {
    // A panic is a bug: one line naming where, then exit 2 like any error
    // (not Rust's multi-line report and 101). The first one is kept; panics
    // in engine threads that follow from it add nothing.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = PANIC.set(format!(
            "error: lakehunt panicked{at}: {} (a bug; please report it)",
            lakehunt::output::visible(&message.replace('\n', " "))
        ));
    }));
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // --help and --version (stdout, exit 0), and the help shown for a
        // bare `lakehunt` (stderr, exit 2): as clap prints them.
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            eprintln!("{}", usage_error_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    // Deep expressions (hundreds of ORs, nested parentheses) recurse in
    // planning; a thread with room for them turns a stack overflow into an
    // answer. The stack is reserved address space, used only as it grows.
    let ran = std::thread::Builder::new()
        .name("lakehunt".into())
        .stack_size(STACK)
        .spawn(move || {
            // For the test of the panic line; never set in use.
            assert!(
                std::env::var_os("LAKEHUNT_TEST_PANIC").is_none(),
                "LAKEHUNT_TEST_PANIC is set"
            );
            cli::run(args)
        })
        .map_err(anyhow::Error::from)
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("panicked")))
        });
    match ran {
        Ok(cli::Outcome::Clean) => ExitCode::SUCCESS,
        Ok(cli::Outcome::Findings) => ExitCode::from(1),
        Err(err) => {
            if cli::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            if let Some(stopped) = err.downcast_ref::<cli::Stopped>() {
                eprintln!("lakehunt: {stopped}");
                return ExitCode::from(stopped.code);
            }
            // The error that followed a panic says less than the panic.
            if let Some(line) = PANIC.get() {
                eprintln!("{line}");
                return ExitCode::from(2);
            }
            // Errors quote data (a value that did not parse, a file name):
            // control and bidi characters shown escaped, as in the table.
            eprintln!("error: {}", lakehunt::output::visible(&cli::one_line(&err)));
            ExitCode::from(2)
        }
    }
}

/// clap's usage error (an unknown flag, a bad value, a missing argument) as
/// one line, like every other error: its lines joined, the usage in
/// parentheses, without the pointer to `--help`.
fn usage_error_line(rendered: &str) -> String {
    let mut line = String::new();
    for part in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if part.starts_with("For more information") {
            continue;
        }
        if let Some(usage) = part.strip_prefix("Usage:") {
            line.push_str(" (usage: ");
            line.push_str(usage.trim());
            line.push(')');
        } else if line.is_empty() {
            line.push_str(part);
        } else if part.starts_with('[') || line.ends_with(':') {
            line.push(' ');
            line.push_str(part);
        } else {
            line.push_str("; ");
            line.push_str(part);
        }
    }
    line
}
