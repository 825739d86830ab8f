//! Finding the OS error code inside a chain of library errors, so that messages can say
//! what to do about it (their Display often hides the errno).
use std::{error::Error, io};

/// The first `io::Error` with an OS error code found walking `err` and its sources.
pub fn errno_in_chain(err: &(dyn Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(code) = e
            .downcast_ref::<io::Error>()
            .and_then(io::Error::raw_os_error)
        {
            return Some(code);
        }
        cur = e.source();
    }
    None
}

/// True when this process runs with an effective uid of 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The one-line hint for running without privileges.
pub const NEED_ROOT: &str =
    "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_IPC_LOCK): run it with sudo";

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn finds_errno_behind_a_wrapper() {
        let e = Outer(io::Error::from_raw_os_error(libc::EBUSY));
        assert_eq!(errno_in_chain(&e), Some(libc::EBUSY));
        let plain = io::Error::other("no code");
        assert_eq!(errno_in_chain(&plain), None);
    }
}
