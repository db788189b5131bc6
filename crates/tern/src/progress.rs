//! Progress on stderr for the long-running commands: an indicatif bar when
//! stderr is a terminal, nothing at all otherwise (logs and pipes get the
//! commands' own plain lines instead of escape sequences).

use std::io::{self, IsTerminal};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// How often a ticker redraws from the command's state.
const TICK: Duration = Duration::from_millis(150);

/// Whether bars are drawn: stderr is a terminal.
pub fn drawn() -> bool {
    io::stderr().is_terminal()
}

/// A progress bar (hidden when stderr is not a terminal), optionally fed by a
/// task that redraws it from shared state.
pub struct Progress {
    bar: ProgressBar,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            ticker: None,
        }
    }

    /// A bar of `len` steps, or a spinner without one, drawn with an
    /// indicatif `template`; hidden when stderr is not a terminal.
    pub fn new(template: &str, len: Option<u64>) -> Self {
        if !drawn() {
            return Self::hidden();
        }
        let bar = match len {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let p = Self { bar, ticker: None };
        p.restyle(template);
        p.bar.enable_steady_tick(Duration::from_millis(120));
        p
    }

    /// Draw with another template (e.g. from a spinner to a byte count).
    pub fn restyle(&self, template: &str) {
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style);
        }
    }

    /// Call `update` on the bar every 150 ms until `finish` (on a visible bar only).
    pub fn tick_with(mut self, update: impl Fn(&ProgressBar) + Send + 'static) -> Self {
        if self.bar.is_hidden() {
            return self;
        }
        let bar = self.bar.clone();
        self.ticker = Some(tokio::spawn(async move {
            loop {
                update(&bar);
                tokio::time::sleep(TICK).await;
            }
        }));
        self
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Stop the ticker and clear the bar from the terminal.
    pub fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        self.bar.finish_and_clear();
    }
}
