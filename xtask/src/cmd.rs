//! Running external commands: echo them (`$ ...`), run them, and turn failures into
//! errors that name the command and its exit status.

use std::ffi::OsStr;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Quote one word for display the way a shell user would type it.
fn quote(word: &OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%[]".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The command line of `cmd` as a copy-pasteable string (environment not included).
pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Describe an exit status: `exit code 2` or `killed by signal 9`.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "unknown exit status".to_string(),
    }
}

/// Fail unless `status` is success, naming the command.
fn check_status(line: &str, status: ExitStatus) -> Result<()> {
    if status.success() {
        Ok(())
    } else {
        bail!("command failed ({}): {line}", describe_status(status))
    }
}

/// Echo `$ <command>` to stderr.
pub fn echo(cmd: &Command) {
    eprintln!("$ {}", display(cmd));
}

/// Echo and run `cmd` with inherited stdio; error if it cannot start or exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    echo(cmd);
    run_quiet(cmd)
}

/// Run `cmd` with inherited stdio without echoing it; error if it fails.
pub fn run_quiet(cmd: &mut Command) -> Result<()> {
    let line = display(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}` (is it installed and on PATH?)"))?;
    check_status(&line, status)
}

/// Run `cmd` silently and return its stdout; on failure the error includes its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let line = display(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{line}` (is it installed and on PATH?)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "command failed ({}): {line}\n{}",
            describe_status(out.status),
            stderr.trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run `cmd` silently; true if it started and exited with success.
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Echo and run `cmd` with inherited stdio, polling `stop`: if it becomes true the child is
/// killed and an "interrupted" error is returned. Returns the child's exit status.
pub fn run_interruptible(cmd: &mut Command, stop: &AtomicBool) -> Result<ExitStatus> {
    echo(cmd);
    let line = display(cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{line}` (is it installed and on PATH?)"))?;
    loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("waiting for `{line}`"))?
        {
            return Ok(status);
        }
        if stop.load(Ordering::SeqCst) {
            // Best effort: the child may have exited in between.
            let _ = child.kill();
            let _ = child.wait();
            bail!("interrupted while running `{line}`");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_when_needed() {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            "x-gen",
            "ping",
            "-c",
            "5",
            "2001:2::2",
            "a b",
            "it's",
        ]);
        assert_eq!(
            display(&c),
            r"ip netns exec x-gen ping -c 5 2001:2::2 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn failing_command_error_names_command_and_code() {
        let err = output(Command::new("sh").args(["-c", "echo oops >&2; exit 3"]))
            .expect_err("must fail");
        let msg = format!("{err:#}");
        assert!(msg.contains("exit code 3"), "{msg}");
        assert!(msg.contains("sh -c"), "{msg}");
        assert!(msg.contains("oops"), "{msg}");
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let err = run_quiet(&mut Command::new("/nonexistent/xtask-no-such-program"))
            .expect_err("must fail");
        assert!(format!("{err:#}").contains("cannot start"));
    }

    #[test]
    fn succeeds_reports_status() {
        assert!(succeeds(&mut Command::new("true")));
        assert!(!succeeds(&mut Command::new("false")));
    }
}
