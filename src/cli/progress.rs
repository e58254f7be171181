//! The live line: one status line on stderr, rewritten in place while a
//! command runs, shown only on a terminal and never with `--quiet`.

use std::fmt;
use std::io::IsTerminal;

/// One live status line on stderr.
pub(crate) struct LiveLine {
    on: bool,
}

impl LiveLine {
    /// A live line, shown only when stderr is a terminal and not `quiet`.
    pub(crate) fn new(quiet: bool) -> LiveLine {
        LiveLine {
            on: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Replaces the line with `text`.
    pub(crate) fn show(&self, text: fmt::Arguments<'_>) {
        if self.on {
            eprint!("\r\x1b[2K{text}");
        }
    }

    /// Clears the line, for output that follows it.
    pub(crate) fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }

    /// Leaves the line as last shown and moves below it.
    pub(crate) fn keep(&self) {
        if self.on {
            eprintln!();
        }
    }
}
