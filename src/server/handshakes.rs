//! Slots for connections in their handshake (TLS, preamble, greeting, login): the only phase
//! in which a stranger holds server resources without having proved anything.
//!
//! Three rules keep one peer from locking everyone out:
//! - at most `[Session] max_handshakes` connections in the phase at once (more are closed at
//!   once);
//! - at most `max_handshakes_per_address` of them from one IP address, so a single host (or
//!   a handful) cannot take every slot. A burst from one address beyond its share (a client
//!   opening a pool of sessions at once) waits in line for its own address's slots, a few
//!   milliseconds each; at most [`MAX_WAITING_PER_ADDRESS`] wait, more are closed at once;
//! - a reserve of `max_handshakes / 8` further slots, used only when the others are taken, with
//!   a short deadline ([`RESERVE_DEADLINE`]), and only for resumes: a client whose link broke
//!   gets back to its session even while strangers hold the main slots.
//!
//! The per-address state lives in a `DashMap` shared by every listener's accept loop and the
//! handshake tasks (which release their slot when they end, whatever the outcome).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The deadline of a handshake that took a reserve slot: a client resuming its session completes
/// its handshake in milliseconds.
pub const RESERVE_DEADLINE: Duration = Duration::from_secs(2);

/// Connections from one address that may wait for its share of slots.
pub const MAX_WAITING_PER_ADDRESS: usize = 256;

/// The handshake slots of the server, shared by its listeners.
pub struct Handshakes {
    main: Arc<Semaphore>,
    reserve: Arc<Semaphore>,
    per_address: usize,
    by_address: DashMap<IpAddr, Address>,
}

/// One address's connections in (or waiting for) their handshake.
struct Address {
    /// Its share of slots.
    share: Arc<Semaphore>,
    /// Connections holding or waiting for one of them.
    present: usize,
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
    /// Its address holds its share already and too many more wait.
    #[error(
        "too many connections in their handshake from this address (max_handshakes_per_address)"
    )]
    Address,
    /// Every slot is taken.
    #[error("too many connections in their handshake (max_handshakes)")]
    Full,
}

impl NoSlot {
    /// The reason's label in the metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Address => "max_handshakes_per_address",
            Self::Full => "max_handshakes",
        }
    }
}

/// A connection's place in its address's line: counted until dropped.
pub struct Ticket {
    peer: IpAddr,
    share: Arc<Semaphore>,
    owner: Arc<Handshakes>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.owner.by_address.remove_if_mut(&self.peer, |_, a| {
            a.present = a.present.saturating_sub(1);
            a.present == 0
        });
    }
}

/// A handshake slot; released when dropped.
pub struct Slot {
    kind: SlotKind,
    _global: OwnedSemaphorePermit,
    _address: OwnedSemaphorePermit,
    _ticket: Ticket,
}

impl Slot {
    /// Which pool it came from.
    pub fn kind(&self) -> SlotKind {
        self.kind
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

    /// Enters `peer`'s line, at once: refused when its address has its share taken and
    /// [`MAX_WAITING_PER_ADDRESS`] more waiting.
    ///
    /// # Errors
    /// [`NoSlot::Address`].
    pub fn enter(self: &Arc<Self>, peer: IpAddr) -> Result<Ticket, NoSlot> {
        let mut a = self.by_address.entry(peer).or_insert_with(|| Address {
            share: Arc::new(Semaphore::new(self.per_address)),
            present: 0,
        });
        if a.present >= self.per_address + MAX_WAITING_PER_ADDRESS {
            return Err(NoSlot::Address);
        }
        a.present += 1;
        Ok(Ticket {
            peer,
            share: Arc::clone(&a.share),
            owner: Arc::clone(self),
        })
    }

    /// Waits up to `wait` for one of the ticket's address's slots, then takes a main slot, or
    /// a reserve one when the main ones are taken.
    ///
    /// # Errors
    /// [`NoSlot::Address`] when the wait ran out, [`NoSlot::Full`] when every slot is taken.
    pub async fn slot(&self, ticket: Ticket, wait: Duration) -> Result<Slot, NoSlot> {
        let address =
            match tokio::time::timeout(wait, Arc::clone(&ticket.share).acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => return Err(NoSlot::Address),
            };
        let (kind, global) = match self.main.clone().try_acquire_owned() {
            Ok(p) => (SlotKind::Main, p),
            Err(_) => match self.reserve.clone().try_acquire_owned() {
                Ok(p) => (SlotKind::Reserve, p),
                Err(_) => return Err(NoSlot::Full),
            },
        };
        Ok(Slot {
            kind,
            _global: global,
            _address: address,
            _ticket: ticket,
        })
    }

    /// Addresses with connections in or waiting for their handshake (for tests and the log).
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

    async fn take(h: &Arc<Handshakes>, n: u8) -> Result<Slot, NoSlot> {
        let ticket = h.enter(ip(n))?;
        h.slot(ticket, Duration::from_millis(20)).await
    }

    #[actix_rt::test]
    async fn each_address_gets_its_share_and_the_reserve_comes_last() {
        let h = Handshakes::new(16, 4);
        let mut a = Vec::new();
        for _ in 0..4 {
            a.push(take(&h, 2).await.unwrap());
        }
        // A fifth from the same address waits for its share, and gives up after the wait.
        assert_eq!(take(&h, 2).await.err(), Some(NoSlot::Address));
        let mut b = Vec::new();
        for n in 3..7 {
            for _ in 0..3 {
                b.push(take(&h, n).await.unwrap());
            }
        }
        assert!(a.iter().chain(&b).all(|s| s.kind() == SlotKind::Main));
        // 16 main slots taken: the next two come from the reserve (16 / 8), then none.
        let r1 = take(&h, 9).await.unwrap();
        let r2 = take(&h, 10).await.unwrap();
        assert_eq!(
            (r1.kind(), r2.kind()),
            (SlotKind::Reserve, SlotKind::Reserve)
        );
        assert_eq!(take(&h, 11).await.err(), Some(NoSlot::Full));
        assert_eq!(
            h.addresses(),
            7,
            "a refused connection leaves no count behind"
        );
        // A waiting connection gets the slot its address frees.
        let ticket = h.enter(ip(2)).unwrap();
        let waiter = {
            let h = Arc::clone(&h);
            actix_rt::spawn(async move {
                h.slot(ticket, Duration::from_secs(5))
                    .await
                    .map(|s| s.kind())
            })
        };
        drop(r1);
        a.pop();
        assert_eq!(waiter.await.unwrap(), Ok(SlotKind::Main));
        drop((a, b, r2));
        assert_eq!(h.addresses(), 0, "every count returns to zero");
    }

    #[test]
    fn the_line_of_one_address_is_bounded() {
        let h = Handshakes::new(16, 2);
        let tickets: Vec<_> = (0..2 + MAX_WAITING_PER_ADDRESS)
            .map(|_| h.enter(ip(2)).unwrap())
            .collect();
        assert_eq!(h.enter(ip(2)).err(), Some(NoSlot::Address));
        assert!(h.enter(ip(3)).is_ok(), "other addresses are not affected");
        drop(tickets);
        assert!(h.enter(ip(2)).is_ok());
    }
}
