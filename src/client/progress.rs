//! A progress bar on standard error when it is a terminal; nothing when piped or
//! redirected, so logs and CI output stay clean.

use std::io::{IsTerminal as _, Write as _};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over the people of a run, plus the stdout writer that keeps the bar intact.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total` people, shown only if stderr is a terminal.
    pub fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} people  {elapsed}  {msg}") {
            bar.set_style(style);
        }
        Self { bar: Some(bar) }
    }

    /// One more person finished.
    pub fn advance(&self, email: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(email.to_owned());
            bar.inc(1);
        }
    }

    /// Writes to stdout without tearing the bar. A closed stdout (`| head`) is not an
    /// error worth dying for: the exit code still tells the truth.
    pub fn print(&self, text: &str) {
        let write = || {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Where waits and retries are announced.
    pub fn notices(&self) -> Notices {
        Notices { bar: self.bar.clone() }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Lines on stderr about what the run is waiting for (a provider that does not answer),
/// printed without tearing the progress bar.
#[derive(Debug, Clone, Default)]
pub struct Notices {
    bar: Option<ProgressBar>,
}

impl Notices {
    /// Prints `text` as one line on stderr, prefixed `userplane: `.
    pub fn say(&self, text: &str) {
        let write = || {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "userplane: {text}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}
