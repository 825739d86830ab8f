//! Harness for the privileged integration tests: a lab per test (deleted on drop, even on
//! panic), the responder started inside it, and the traffic tools run from the generator
//! namespace. Tests that need root skip with a message when not root, except under CI,
//! where skipping would hide a broken setup.
use std::{
    process::Output,
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

pub use xtask::lab::{self, Lab, LabSpec};
use xtask::{paths, responder::Responder};

/// True when privileged tests can run; false (with a note) when they must be skipped.
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("privileged integration tests need root (they create network namespaces); CI runs as root");
    }
    eprintln!("skipping: needs root (network namespaces, XDP, AF_XDP); run `sudo cargo xtask test`");
    false
}

/// The responder binary built by `cargo build` (the test command builds it first).
pub fn responder_bin() -> std::path::PathBuf {
    let bin = paths::responder_binary(false);
    assert!(bin.exists(), "{} is missing: run `cargo build -p xdp-user` (or `cargo xtask test`) first", bin.display());
    bin
}

/// A lab with a test-specific prefix.
pub fn lab(name: &str, queues: u32) -> Lab {
    Lab::up(LabSpec::new(format!("it-{name}"), queues)).expect("lab up")
}

/// The standard arguments: our two addresses on the responder's veth end, UDP port 7.
pub fn default_args() -> Vec<String> {
    ["run", "--iface", lab::RESP_IFACE, "--addr", "198.18.0.2", "--addr", "2001:2::2", "--udp-port", "7", "--interval", "1", "--duration", "120"]
        .map(String::from)
        .to_vec()
}

/// Starts the responder in the lab's responder namespace and waits for `ready`.
pub fn start(lab: &Lab, args: &[String]) -> Responder {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().cloned());
    let mut r = Responder::spawn(lab.exec_resp(&cmd_args), "[responder] ").expect("spawn responder");
    r.wait_ready(Duration::from_secs(30), &AtomicBool::new(false)).expect("responder ready");
    r
}

/// Runs the responder binary to completion in the responder namespace (for error cases
/// and control commands).
pub fn responder_cmd(lab: &Lab, args: &[&str]) -> Output {
    let bin = responder_bin();
    let mut cmd_args = vec![bin.to_string_lossy().into_owned()];
    cmd_args.extend(args.iter().map(|a| a.to_string()));
    let out = lab.exec_resp(&cmd_args).output().expect("run responder");
    eprintln!("$ xdp-responder {} -> {:?}\n{}{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

/// Runs a command in the generator namespace, echoing its output; true on exit status 0.
pub fn gen_ok(lab: &Lab, args: &[&str]) -> bool {
    let out = lab.exec_gen(args).output().expect("run command in generator namespace");
    eprintln!("$ {} -> {:?}\n{}{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out.status.success()
}

/// Whether an XDP program is attached to the responder's veth end.
pub fn xdp_attached(lab: &Lab) -> bool {
    let out = lab.exec_resp(&["ip", "-d", "link", "show", "dev", lab::RESP_IFACE]).output().expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout);
    text.contains("prog/xdp") || text.contains(" xdp ") || text.contains("xdpgeneric")
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses `name=value` pairs out of the totals line that starts with `label`.
pub fn totals_field(lines: &[String], label: &str, name: &str) -> u64 {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in responder output:\n{}", lines.join("\n")));
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.parse().expect("counter value"))
        .unwrap_or(0)
}
