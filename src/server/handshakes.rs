//! Slots for connections in their handshake (TLS, preamble, greeting, login): the only phase
//! in which a stranger holds server resources without having proved anything.
//!
//! Three rules keep one peer from locking everyone out:
//! - at most `[Session] max_handshakes` connections in the phase at once (more are closed at
//!   once);
//! - at most `max_handshakes_per_address` of them from one IP address, so a single host (or
//!   a handful) cannot take every slot;
//! - a reserve of `max_handshakes / 8` further slots, used only when the others are taken, with
//!   a short deadline ([`RESERVE_DEADLINE`]), and only for resumes: a client whose link broke
//!   gets back to its session even while strangers hold the main slots.
//!
//! The per-address counts live in a `DashMap` shared by every listener's accept loop and the
//! handshake tasks (which release their slot when they end, whatever the outcome).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The deadline of a handshake that took a reserve slot: a client resuming its session completes
/// its handshake in milliseconds.
pub const RESERVE_DEADLINE: Duration = Duration::from_secs(2);

/// The handshake slots of the server, shared by its listeners.
pub struct Handshakes {
    main: Arc<Semaphore>,
    reserve: Arc<Semaphore>,
    per_address: usize,
    by_address: DashMap<IpAddr, usize>,
}

/// Which pool a slot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A main slot: any handshake.
    Main,
    /// A reserve slot: only a resume may complete, within [`RESERVE_DEADLINE`].
    Reserve,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoSlot {
    /// Its address holds its share already.
    #[error(
        "too many connections in their handshake from this address (max_handshakes_per_address)"
    )]
    Address,
    /// Every slot is taken.
    #[error("too many connections in their handshake (max_handshakes)")]
    Full,
}

/// A handshake slot; released when dropped.
pub struct Slot {
    kind: SlotKind,
    peer: IpAddr,
    owner: Arc<Handshakes>,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    /// Which pool it came from.
    pub fn kind(&self) -> SlotKind {
        self.kind
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.owner.by_address.remove_if_mut(&self.peer, |_, n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

impl Handshakes {
    /// `total` main slots, at most `per_address` per IP address, plus `total / 8` reserve slots.
    pub fn new(total: usize, per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            main: Arc::new(Semaphore::new(total)),
            reserve: Arc::new(Semaphore::new(total / 8)),
            per_address: per_address.max(1),
            by_address: DashMap::new(),
        })
    }

    /// A slot for a connection from `peer`, or why there is none.
    ///
    /// # Errors
    /// [`NoSlot`] when the address has its share or every slot is taken.
    pub fn acquire(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, NoSlot> {
        // Count the address first (the entry's lock makes check and increment one step).
        {
            let mut n = self.by_address.entry(peer).or_insert(0);
            if *n >= self.per_address {
                return Err(NoSlot::Address);
            }
            *n += 1;
        }
        let taken = match self.main.clone().try_acquire_owned() {
            Ok(p) => Some((SlotKind::Main, p)),
            Err(_) => self
                .reserve
                .clone()
                .try_acquire_owned()
                .ok()
                .map(|p| (SlotKind::Reserve, p)),
        };
        match taken {
            Some((kind, permit)) => Ok(Slot {
                kind,
                peer,
                owner: Arc::clone(self),
                _permit: permit,
            }),
            None => {
                self.by_address.remove_if_mut(&peer, |_, n| {
                    *n = n.saturating_sub(1);
                    *n == 0
                });
                Err(NoSlot::Full)
            }
        }
    }

    /// Addresses holding slots now (for tests and the log).
    pub fn addresses(&self) -> usize {
        self.by_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn each_address_gets_its_share_and_the_reserve_comes_last() {
        let h = Handshakes::new(16, 4);
        let a: Vec<_> = (0..4).map(|_| h.acquire(ip(2)).unwrap()).collect();
        assert_eq!(h.acquire(ip(2)).err(), Some(NoSlot::Address));
        let b: Vec<_> = (0..4)
            .flat_map(|n| (0..3).map(move |_| n))
            .map(|n| h.acquire(ip(3 + n)).unwrap())
            .collect();
        assert!(a.iter().chain(&b).all(|s| s.kind() == SlotKind::Main));
        // 16 main slots taken: the next two come from the reserve (16 / 8), then none.
        let r1 = h.acquire(ip(9)).unwrap();
        let r2 = h.acquire(ip(10)).unwrap();
        assert_eq!(
            (r1.kind(), r2.kind()),
            (SlotKind::Reserve, SlotKind::Reserve)
        );
        assert_eq!(h.acquire(ip(11)).err(), Some(NoSlot::Full));
        assert_eq!(h.addresses(), 7, "a refused address leaves no count behind");
        drop(a);
        assert_eq!(h.acquire(ip(1)).unwrap().kind(), SlotKind::Main);
        drop((b, r1, r2));
        assert_eq!(h.addresses(), 0, "every count returns to zero");
    }
}
