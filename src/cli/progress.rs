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

/// Runs `open` (a source being listed and its footers read), showing on
/// `live` how many objects have been listed and footers fetched from object
/// stores, every 200 ms, from a thread of its own (opening a source blocks
/// its task); nothing for local files.
pub(crate) async fn opening<F: std::future::Future>(live: &LiveLine, open: F) -> F::Output {
    use lakehunt::source::remote::ACTIVITY;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    if !live.on {
        return open.await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let shown = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (done, shown) = (Arc::clone(&done), Arc::clone(&shown));
        std::thread::spawn(move || {
            let before = ACTIVITY.now();
            let started = std::time::Instant::now();
            let status = LiveLine { on: true };
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let now = ACTIVITY.now();
                if now != before && !done.load(Ordering::Relaxed) {
                    shown.store(true, Ordering::Relaxed);
                    status.show(format_args!(
                        "opening: {} objects listed, {} footers read ({:.1} MB), {:.1}s",
                        now.listed - before.listed,
                        now.footers - before.footers,
                        (now.footer_bytes - before.footer_bytes) as f64 / 1e6,
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
        })
    };
    let out = open.await;
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    if shown.load(Ordering::Relaxed) {
        live.clear();
    }
    out
}
