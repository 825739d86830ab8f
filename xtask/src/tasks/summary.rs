//! Pass/fail bookkeeping and the final summary of multi-step tasks.

use std::time::Duration;

/// Result of one check or step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What was checked.
    pub name: String,
    /// Pass, fail, or skipped.
    pub status: Status,
    /// One-line detail (error, counts), may be empty.
    pub detail: String,
    /// How long it took.
    pub took: Duration,
}

/// Status of an [`Outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Not run (an earlier step failed or we were interrupted).
    Skipped,
}

impl Outcome {
    /// A passed outcome.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>, took: Duration) -> Self {
        Self {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            took,
        }
    }

    /// A failed outcome.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, took: Duration) -> Self {
        Self {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            took,
        }
    }

    /// A skipped outcome.
    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Skipped,
            detail: why.into(),
            took: Duration::ZERO,
        }
    }
}

/// Render the summary table; the last line says how many passed.
pub fn render(title: &str, outcomes: &[Outcome]) -> String {
    let mut lines = vec![format!("{title} summary:")];
    for o in outcomes {
        let tag = match o.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIP",
        };
        let mut line = format!("  {tag}  {:<44} {:>6.1}s", o.name, o.took.as_secs_f64());
        if !o.detail.is_empty() {
            // Keep the table readable: first line of the detail only.
            line.push_str("  ");
            line.push_str(o.detail.lines().next().unwrap_or_default());
        }
        lines.push(line);
    }
    let passed = outcomes.iter().filter(|o| o.status == Status::Pass).count();
    lines.push(format!("{title}: {passed}/{} passed", outcomes.len()));
    lines.join("\n")
}

/// True if every outcome passed.
pub fn all_passed(outcomes: &[Outcome]) -> bool {
    !outcomes.is_empty() && outcomes.iter().all(|o| o.status == Status::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_verdict() {
        let o = vec![
            Outcome::pass("a", "", Duration::from_millis(1500)),
            Outcome::fail("b", "boom\nmore", Duration::ZERO),
            Outcome::skipped("c", "earlier failure"),
        ];
        let text = render("demo", &o);
        assert!(text.contains("PASS  a"), "{text}");
        assert!(
            text.contains("FAIL  b") && text.contains("boom") && !text.contains("more"),
            "{text}"
        );
        assert!(text.contains("SKIP  c"), "{text}");
        assert!(text.ends_with("demo: 1/3 passed"), "{text}");
        assert!(!all_passed(&o));
        assert!(all_passed(&o[..1]));
        assert!(!all_passed(&[]));
    }
}
