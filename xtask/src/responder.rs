//! The responder as a child process: start it (usually via `ip netns exec`), stream its
//! output with a prefix, wait for its `ready` line, stop it with SIGINT.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::cmd;

/// The responder prints a line starting with this once its XDP program is attached and
/// its sockets are bound.
pub const READY_PREFIX: &str = "ready";

/// How long to wait for the output pumps after the process exited.
const READER_DRAIN: Duration = Duration::from_secs(2);

/// How many stderr lines error messages show.
const STDERR_TAIL_LINES: usize = 40;

/// How many output lines are kept for [`Responder::output`] (oldest dropped first).
const MAX_KEPT_LINES: usize = 100_000;

/// All output lines so far, shared with the pump threads.
type Log = Arc<Mutex<VecDeque<Line>>>;

/// Lock `log`, surviving a poisoned mutex (a pump thread never panics while holding it,
/// but the lines stay useful either way).
fn lock(log: &Log) -> std::sync::MutexGuard<'_, VecDeque<Line>> {
    match log.lock() {
        Ok(l) => l,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Arguments for `xdp-responder run` (the responder's CLI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunArgs {
    /// Interface to attach to (`--iface`).
    pub iface: String,
    /// Addresses the responder owns (`--addr`, repeated).
    pub addrs: Vec<IpAddr>,
    /// UDP echo ports (`--udp-port`, repeated).
    pub udp_ports: Vec<u16>,
    /// Counter print interval in seconds (`--interval`).
    pub interval: Option<u64>,
    /// Exit after this many seconds (`--duration`).
    pub duration: Option<u64>,
}

impl RunArgs {
    /// The argument list, starting with `run`.
    pub fn to_args(&self) -> Vec<String> {
        let mut a = vec!["run".to_string(), "--iface".into(), self.iface.clone()];
        for addr in &self.addrs {
            a.extend(["--addr".into(), addr.to_string()]);
        }
        for port in &self.udp_ports {
            a.extend(["--udp-port".into(), port.to_string()]);
        }
        if let Some(i) = self.interval {
            a.extend(["--interval".into(), i.to_string()]);
        }
        if let Some(d) = self.duration {
            a.extend(["--duration".into(), d.to_string()]);
        }
        a
    }
}

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of responder output.
#[derive(Clone, Debug)]
pub struct Line {
    /// Where it came from.
    pub stream: Stream,
    /// The text, without the newline.
    pub text: String,
}

/// A running responder process. Dropping it stops the process (SIGINT, then SIGKILL).
pub struct Responder {
    child: Child,
    line: String,
    lines: Receiver<Line>,
    log: Log,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Responder {
    /// Start `cmd` with piped output; each line is echoed as `{prefix}{line}` (stdout to
    /// stdout, stderr to stderr) and made available to [`Responder::wait_ready`].
    pub fn spawn(mut cmd: Command, prefix: &str) -> Result<Responder> {
        cmd::echo(&cmd);
        let line = cmd::display(&cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{line}`"))?;
        let (tx, rx) = mpsc::channel();
        let log: Log = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(pump(
                out,
                Stream::Stdout,
                prefix.to_string(),
                tx.clone(),
                log.clone(),
            ));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(pump(
                err,
                Stream::Stderr,
                prefix.to_string(),
                tx,
                log.clone(),
            ));
        }
        Ok(Responder {
            child,
            line,
            lines: rx,
            log,
            readers,
            status: None,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait until the process prints a line (on either stream) starting with
    /// [`READY_PREFIX`]. Fails if it exits first, after `timeout`, or when `stop` is set;
    /// the error shows the tail of its stderr.
    pub fn wait_ready(&mut self, timeout: Duration, stop: &AtomicBool) -> Result<()> {
        self.wait_ready_for(timeout, stop, None)
    }

    /// [`Responder::wait_ready`] for a process whose ready line is not ours: with
    /// `Some(marker)`, any line containing `marker` counts as ready.
    pub fn wait_ready_for(
        &mut self,
        timeout: Duration,
        stop: &AtomicBool,
        marker: Option<&str>,
    ) -> Result<()> {
        let is_ready = |text: &str| match marker {
            Some(m) => text.contains(m),
            None => text.trim_start().starts_with(READY_PREFIX),
        };
        let wanted = marker.unwrap_or(READY_PREFIX);
        let start = Instant::now();
        loop {
            if stop.load(Ordering::SeqCst) {
                bail!("interrupted while waiting for the responder to get ready");
            }
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(l) if is_ready(&l.text) => return Ok(()),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
            if let Some(status) = self.try_status()? {
                self.join_readers();
                bail!(
                    "process exited ({}) before printing `{wanted}`: {}\n{}",
                    cmd::describe_status(status),
                    self.line,
                    self.stderr_tail()
                );
            }
            if start.elapsed() > timeout {
                bail!(
                    "process did not print `{wanted}` within {timeout:?}: {}\n{}",
                    self.line,
                    self.stderr_tail()
                );
            }
        }
    }

    /// The exit status if the process has exited (non-blocking).
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait().context("waiting for the responder")?;
        }
        Ok(self.status)
    }

    /// Stop the process: SIGINT, wait up to `grace`, then SIGKILL. Returns its exit status
    /// (immediately if it already exited). All output has been echoed when this returns.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.try_status()? {
            self.join_readers();
            return Ok(status);
        }
        let pid = Pid::from_raw(i32::try_from(self.child.id()).context("pid out of range")?);
        // ESRCH just means it exited in between.
        let _ = kill(pid, Signal::SIGINT);
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.try_status()? {
                break s;
            }
            if start.elapsed() > grace {
                eprintln!("responder did not exit within {grace:?} of SIGINT; killing it");
                let _ = self.child.kill();
                let s = self
                    .child
                    .wait()
                    .context("waiting for the killed responder")?;
                self.status = Some(s);
                break s;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.join_readers();
        Ok(status)
    }

    /// Every output line so far (stdout and stderr, in arrival order, without the
    /// prefix). After [`Responder::stop`] this includes the totals printed at exit.
    pub fn output(&self) -> Vec<String> {
        lock(&self.log).iter().map(|l| l.text.clone()).collect()
    }

    /// Like [`Responder::output`], with the stream of each line.
    pub fn lines(&self) -> Vec<Line> {
        lock(&self.log).iter().cloned().collect()
    }

    /// The last lines of stderr, formatted for error messages.
    pub fn stderr_tail(&self) -> String {
        let log = lock(&self.log);
        let mut tail: Vec<String> = log
            .iter()
            .rev()
            .filter(|l| l.stream == Stream::Stderr)
            .take(STDERR_TAIL_LINES)
            .map(|l| format!("  stderr: {}", l.text))
            .collect();
        if tail.is_empty() {
            return "(no stderr output)".to_string();
        }
        tail.reverse();
        tail.join("\n")
    }

    /// Wait (bounded) for the output pumps to reach end of file. A grandchild that
    /// inherited the pipes can keep them open after the process died; then the pumps are
    /// left running detached instead of blocking teardown.
    fn join_readers(&mut self) {
        let deadline = Instant::now() + READER_DRAIN;
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for r in self.readers.drain(..) {
            if r.is_finished() {
                let _ = r.join();
            }
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Err(e) = self.stop(Duration::from_secs(5)) {
            eprintln!("warning: stopping the responder failed: {e:#}");
        }
    }
}

/// Copy lines from `src` to our stdout/stderr with `prefix`, keep them in `log`, and
/// forward them on `tx`.
fn pump(
    src: impl Read + Send + 'static,
    stream: Stream,
    prefix: String,
    tx: Sender<Line>,
    log: Log,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(src);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\n', '\r'])
                .to_string();
            // Write errors (closed terminal) must not stop the pump: the child would block.
            match stream {
                Stream::Stdout => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{prefix}{text}");
                    let _ = out.flush();
                }
                Stream::Stderr => {
                    let _ = writeln!(std::io::stderr().lock(), "{prefix}{text}");
                }
            }
            let line = Line { stream, text };
            {
                let mut log = lock(&log);
                if log.len() == MAX_KEPT_LINES {
                    log.pop_front();
                }
                log.push_back(line.clone());
            }
            let _ = tx.send(line);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_args_match_responder_cli() {
        let a = RunArgs {
            iface: "veth-resp".into(),
            addrs: vec![
                "198.18.0.2".parse().expect("v4"),
                "2001:2::2".parse().expect("v6"),
            ],
            udp_ports: vec![7],
            interval: Some(1),
            duration: Some(25),
        };
        assert_eq!(
            a.to_args().join(" "),
            "run --iface veth-resp --addr 198.18.0.2 --addr 2001:2::2 --udp-port 7 --interval 1 --duration 25"
        );
    }

    #[test]
    fn ready_line_is_detected_and_sigint_stops() {
        let mut c = Command::new("sh");
        // The trap goes in before `ready`, or a SIGINT right after it could beat the trap.
        c.args(["-c", "trap 'echo totals; exit 0' INT; echo starting; echo 'ready: attached'; while :; do sleep 0.05; done"]);
        let mut r = Responder::spawn(c, "[test] ").expect("spawn");
        r.wait_ready(Duration::from_secs(5), &AtomicBool::new(false))
            .expect("ready");
        let status = r.stop(Duration::from_secs(5)).expect("stop");
        assert!(status.success(), "{status:?}");
        assert_eq!(r.output(), ["starting", "ready: attached", "totals"]);
        assert!(r.lines().iter().all(|l| l.stream == Stream::Stdout));
    }

    #[test]
    fn early_exit_reports_stderr() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo 'error: no such device' >&2; exit 2"]);
        let mut r = Responder::spawn(c, "[test] ").expect("spawn");
        let err = r
            .wait_ready(Duration::from_secs(5), &AtomicBool::new(false))
            .expect_err("must fail");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("exit code 2") && msg.contains("no such device"),
            "{msg}"
        );
    }

    #[test]
    fn stop_does_not_hang_on_inherited_pipes() {
        // `sh` ignores SIGINT while its `sleep` child holds our pipes open.
        let mut c = Command::new("sh");
        c.args(["-c", "trap '' INT; sleep 4; true"]);
        let mut r = Responder::spawn(c, "[test] ").expect("spawn");
        let start = Instant::now();
        let status = r.stop(Duration::from_millis(300)).expect("stop");
        assert!(!status.success());
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn ready_timeout() {
        let mut c = Command::new("sleep");
        c.arg("10");
        let mut r = Responder::spawn(c, "[test] ").expect("spawn");
        let err = r
            .wait_ready(Duration::from_millis(300), &AtomicBool::new(false))
            .expect_err("must time out");
        assert!(format!("{err:#}").contains("within"));
    }
}
