//! The idle-connection pool (`[Pool]`): physical database connections a session closed, kept
//! for the next `connect` with the same connection string by the same user.
//!
//! Pure bookkeeping, generic over what is pooled so it can be tested without a driver; the
//! registry actor owns the one instance (holding parked connection actors), which keeps the
//! licence count and the pool in one place. Connections enter already reset (rolled back,
//! autocommit on) by their connection actor; what leaves the pool without being reused is
//! dropped by the registry, and the actor disconnects on its own thread.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// What a pooled connection may be reused for: a digest of the odbcd user and the complete
/// connection target (passwords included, so they are not kept in clear).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolKey([u8; 32]);

impl PoolKey {
    /// The key of a connection target opened by the odbcd user `user`: its kind (e.g.
    /// `"connstr"`, `"dsn"`) and its parts (the connection string; DSN, user, password), each
    /// part delimited so that no two targets share a key.
    pub fn new(user: &str, kind: &str, parts: &[&str]) -> Self {
        let mut h = Sha256::new();
        for field in [user, kind] {
            h.update(field.as_bytes());
            h.update([0]);
        }
        for part in parts {
            h.update(part.len().to_le_bytes());
            h.update(part.as_bytes());
        }
        Self(h.finalize().into())
    }
}

impl std::fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PoolKey({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// Idle connections by key, oldest first, at most `capacity` in all.
pub struct IdlePool<C> {
    capacity: usize,
    idle_timeout: Duration,
    by_key: HashMap<PoolKey, Vec<(Instant, C)>>,
    /// Keys in the order connections entered (one entry per connection); may hold stale
    /// entries for connections already taken, skipped lazily.
    order: VecDeque<(Instant, PoolKey)>,
    len: usize,
}

impl<C> IdlePool<C> {
    /// A pool of at most `capacity` idle connections, each kept at most `idle_timeout`.
    pub fn new(capacity: usize, idle_timeout: Duration) -> Self {
        Self {
            capacity,
            idle_timeout,
            by_key: HashMap::new(),
            order: VecDeque::new(),
            len: 0,
        }
    }

    /// Idle connections held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the pool holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How long a connection may stay idle.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The most idle connections it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether pooling is on at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The most recently returned connection for `key` (warmest first).
    pub fn take(&mut self, key: &PoolKey) -> Option<C> {
        let list = self.by_key.get_mut(key)?;
        let (_, conn) = list.pop()?;
        if list.is_empty() {
            self.by_key.remove(key);
        }
        self.len -= 1;
        Some(conn)
    }

    /// Removes the idle connection of `key` that `which` picks, if it is still here.
    pub fn remove(&mut self, key: &PoolKey, which: impl Fn(&C) -> bool) -> Option<C> {
        let list = self.by_key.get_mut(key)?;
        let pos = list.iter().position(|(_, c)| which(c))?;
        let (_, conn) = list.remove(pos);
        if list.is_empty() {
            self.by_key.remove(key);
        }
        // Its entry in `order` is skipped when reached (no connection entered at that instant
        // is left, or the one left is evicted in its place: equally old).
        self.len -= 1;
        Some(conn)
    }

    /// Keeps `conn` for `key`; when the pool is full the oldest idle connection makes room and
    /// is given back to be disconnected. With pooling off, `conn` itself comes back.
    pub fn put(&mut self, key: PoolKey, conn: C, now: Instant) -> Option<C> {
        if !self.enabled() {
            return Some(conn);
        }
        let evicted = if self.len >= self.capacity {
            self.evict_oldest()
        } else {
            None
        };
        self.by_key.entry(key).or_default().push((now, conn));
        self.order.push_back((now, key));
        self.len += 1;
        evicted
    }

    /// New limits (a reload): connections beyond the new capacity, oldest first, are given
    /// back to be disconnected.
    pub fn set_limits(&mut self, capacity: usize, idle_timeout: Duration) -> Vec<C> {
        self.capacity = capacity;
        self.idle_timeout = idle_timeout;
        let mut evicted = Vec::new();
        while self.len > self.capacity {
            match self.evict_oldest() {
                Some(c) => evicted.push(c),
                None => break,
            }
        }
        evicted
    }

    /// Removes the connection that has been idle longest.
    pub fn evict_oldest(&mut self) -> Option<C> {
        while let Some((at, key)) = self.order.pop_front() {
            if let Some(conn) = self.take_entry(at, &key) {
                return Some(conn);
            }
        }
        None
    }

    /// The connection of `key` that entered at `at`, if it is still here. The list is in entry
    /// order; an entry of `order` is live while a connection of that key entered at that
    /// instant is still there.
    fn take_entry(&mut self, at: Instant, key: &PoolKey) -> Option<C> {
        let list = self.by_key.get_mut(key)?;
        let pos = list.iter().position(|(t, _)| *t == at)?;
        let (_, conn) = list.remove(pos);
        if list.is_empty() {
            self.by_key.remove(key);
        }
        self.len -= 1;
        Some(conn)
    }

    /// Removes every connection idle longer than the idle timeout at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<C> {
        let mut out = Vec::new();
        while let Some(&(at, key)) = self.order.front() {
            if now.duration_since(at) < self.idle_timeout {
                break;
            }
            self.order.pop_front();
            // An entry of a connection taken or removed since is skipped (evicting the oldest
            // live one instead would drop a connection that has not been idle long enough).
            if let Some(conn) = self.take_entry(at, &key) {
                out.push(conn);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> PoolKey {
        PoolKey::new("alice", "connstr", &[n])
    }

    #[test]
    fn expiry_skips_connections_taken_or_removed_and_keeps_younger_ones() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(60);
        let mut pool = IdlePool::new(4, idle);
        assert!(pool.put(key("a"), 1, t0).is_none());
        assert_eq!(pool.take(&key("a")), Some(1));
        assert!(pool.put(key("a"), 2, t0 + Duration::from_secs(1)).is_none());
        assert_eq!(pool.remove(&key("a"), |c| *c == 2), Some(2));
        assert_eq!(pool.remove(&key("a"), |c| *c == 2), None);
        assert!(pool
            .put(key("a"), 3, t0 + Duration::from_secs(50))
            .is_none());
        // The entries of 1 and 2 are old, but 3 has been idle only 11 s.
        assert!(pool.expire(t0 + Duration::from_secs(61)).is_empty());
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.expire(t0 + Duration::from_secs(111)), vec![3]);
        assert!(pool.is_empty());
    }

    #[test]
    fn keys_separate_users_and_targets() {
        let t = ["DSN=a"];
        assert_eq!(
            PoolKey::new("u", "connstr", &t),
            PoolKey::new("u", "connstr", &t)
        );
        assert_ne!(
            PoolKey::new("u", "connstr", &t),
            PoolKey::new("v", "connstr", &t)
        );
        assert_ne!(PoolKey::new("u", "connstr", &t), key("DSN=b"));
        assert_ne!(
            PoolKey::new("u", "connstr", &t),
            PoolKey::new("u", "dsn", &t)
        );
        let dsn = |pwd| PoolKey::new("u", "dsn", &["a", "x", pwd]);
        assert_ne!(dsn("1"), dsn("2"));
        // Parts are delimited by their lengths: moving a byte across a boundary changes the key.
        assert_ne!(
            PoolKey::new("u", "dsn", &["ab", "c", ""]),
            PoolKey::new("u", "dsn", &["a", "bc", ""])
        );
    }

    #[test]
    fn take_returns_only_the_same_key_warmest_first() {
        let mut p = IdlePool::new(4, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(p.put(key("a"), 1, t0).is_none());
        assert!(p.put(key("a"), 2, t0 + Duration::from_millis(1)).is_none());
        assert_eq!(p.take(&key("b")), None);
        assert_eq!(p.take(&key("a")), Some(2));
        assert_eq!(p.take(&key("a")), Some(1));
        assert_eq!(p.take(&key("a")), None);
        assert!(p.is_empty());
    }

    #[test]
    fn full_pool_evicts_the_oldest_and_expiry_follows_the_timeout() {
        let mut p = IdlePool::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        p.put(key("a"), 1, t0);
        p.put(key("b"), 2, t0 + Duration::from_secs(1));
        assert_eq!(p.put(key("c"), 3, t0 + Duration::from_secs(2)), Some(1));
        assert_eq!(p.len(), 2);
        // A taken connection leaves a stale order entry that eviction skips.
        assert_eq!(p.take(&key("b")), Some(2));
        assert_eq!(p.expire(t0 + Duration::from_secs(5)), Vec::<i32>::new());
        assert_eq!(p.expire(t0 + Duration::from_secs(12)), vec![3]);
        assert!(p.is_empty());
        assert_eq!(p.evict_oldest(), None);
    }

    #[test]
    fn disabled_pool_keeps_nothing() {
        let mut p = IdlePool::new(0, Duration::from_secs(10));
        assert_eq!(p.put(key("a"), 1, Instant::now()), Some(1));
        assert!(p.is_empty());
    }
}
