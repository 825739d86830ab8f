//! The identity the workers answer for, changeable at run time (`xdp-responder addr add`).
//! Writers swap in a new `Arc<Identity>` and bump a generation; workers compare the
//! generation once per batch (one relaxed load) and take the new identity only when it moved.
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, RwLock,
};

use crate::handlers::Identity;

#[derive(Debug)]
pub struct LiveIdentity {
    generation: AtomicU64,
    current: RwLock<Arc<Identity>>,
}

impl LiveIdentity {
    pub fn new(id: Identity) -> Self {
        LiveIdentity {
            generation: AtomicU64::new(0),
            current: RwLock::new(Arc::new(id)),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current identity and its generation.
    pub fn load(&self) -> (u64, Arc<Identity>) {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        (self.generation(), guard.clone())
    }

    /// Applies `f` to a copy of the current identity and publishes the result.
    pub fn update(&self, f: impl FnOnce(&mut Identity)) -> Arc<Identity> {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        let mut next = (**guard).clone();
        f(&mut next);
        let next = Arc::new(next);
        *guard = next.clone();
        self.generation.fetch_add(1, Ordering::Release);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_bumps_generation() {
        let live = LiveIdentity::new(Identity::default());
        let (g0, id0) = live.load();
        assert!(id0.v4.is_empty());
        live.update(|id| id.v4.push("198.18.0.9".parse().unwrap()));
        let (g1, id1) = live.load();
        assert_ne!(g0, g1);
        assert_eq!(id1.v4.len(), 1);
    }
}
