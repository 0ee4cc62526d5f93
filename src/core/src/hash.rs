// SPDX-License-Identifier: GPL-2.0
//! Keyed hashing (SipHash-1-3) for table buckets, shard choice and
//! the source-hash / Maglev schedulers.
//!
//! Every table takes a 128-bit [`HashKey`] at construction; the kernel draws
//! it from `get_random_bytes`, so a remote host cannot pick flow tuples that
//! collide into one chain (hash flooding).

/// A 128-bit SipHash key.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HashKey {
    /// First half.
    pub k0: u64,
    /// Second half.
    pub k1: u64,
}

impl HashKey {
    /// Builds a key from two halves.
    pub const fn new(k0: u64, k1: u64) -> Self {
        Self { k0, k1 }
    }

    /// Builds a key from 16 random bytes.
    pub const fn from_bytes(b: [u8; 16]) -> Self {
        Self {
            k0: u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            k1: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        }
    }

    /// Hashes one 64-bit word.
    pub fn hash1(&self, a: u64) -> u64 {
        siphash13_words(self, &[a])
    }

    /// Hashes two 64-bit words.
    pub fn hash2(&self, a: u64, b: u64) -> u64 {
        siphash13_words(self, &[a, b])
    }
}

#[inline(always)]
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-1-3 of the little-endian bytes of `words` (so it equals the
/// reference SipHash-1-3 of an `8 * words.len()`-byte message).
pub fn siphash13_words(key: &HashKey, words: &[u64]) -> u64 {
    let mut v = [
        key.k0 ^ 0x736f_6d65_7073_6575,
        key.k1 ^ 0x646f_7261_6e64_6f6d,
        key.k0 ^ 0x6c79_6765_6e65_7261,
        key.k1 ^ 0x7465_6462_7974_6573,
    ];
    for &m in words {
        v[3] ^= m;
        sipround(&mut v);
        v[0] ^= m;
    }
    // Final block: no tail bytes, length in the top byte.
    let b = ((words.len() as u64).wrapping_mul(8) & 0xff) << 56;
    v[3] ^= b;
    sipround(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sipround(&mut v);
    sipround(&mut v);
    sipround(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Maps a 64-bit hash onto `0..n` without a division (Lemire's
/// multiply-shift on the high 32 bits). Returns 0 when `n == 0`.
#[inline]
pub fn reduce(hash: u64, n: usize) -> usize {
    let h = hash >> 32;
    ((h * (n as u64 & 0xffff_ffff)) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference SipHash-1-3 over bytes (straight from the paper's
    /// description), used to check the word-oriented version.
    fn reference(k: &HashKey, msg: &[u8]) -> u64 {
        let mut v = [
            k.k0 ^ 0x736f_6d65_7073_6575,
            k.k1 ^ 0x646f_7261_6e64_6f6d,
            k.k0 ^ 0x6c79_6765_6e65_7261,
            k.k1 ^ 0x7465_6462_7974_6573,
        ];
        let chunks = msg.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            let m = u64::from_le_bytes(c.try_into().unwrap());
            v[3] ^= m;
            sipround(&mut v);
            v[0] ^= m;
        }
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        last[7] = msg.len() as u8;
        let m = u64::from_le_bytes(last);
        v[3] ^= m;
        sipround(&mut v);
        v[0] ^= m;
        v[2] ^= 0xff;
        for _ in 0..3 {
            sipround(&mut v);
        }
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }

    #[test]
    fn matches_std_siphash13_vector() {
        // std's (deprecated but present) SipHasher13 is not public; the
        // canonical SipHash-1-3 of the empty message with key 00..0f is
        // 0xabac0158050fc4dc (from the reference test vectors).
        let k = HashKey::from_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(siphash13_words(&k, &[]), 0xabac_0158_050f_c4dc);
        assert_eq!(reference(&k, &[]), 0xabac_0158_050f_c4dc);
    }

    #[test]
    fn words_match_reference_bytes() {
        let k = HashKey::new(0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        for (a, b) in [(0u64, 0u64), (1, 2), (u64::MAX, 0x1234_5678_9abc_def0)] {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&a.to_le_bytes());
            bytes[8..].copy_from_slice(&b.to_le_bytes());
            assert_eq!(k.hash2(a, b), reference(&k, &bytes));
            assert_eq!(k.hash1(a), reference(&k, &bytes[..8]));
        }
    }

    #[test]
    fn key_changes_hash() {
        let a = HashKey::new(1, 2);
        let b = HashKey::new(1, 3);
        assert_ne!(a.hash2(5, 6), b.hash2(5, 6));
    }

    #[test]
    fn reduce_in_range() {
        for n in [1usize, 2, 3, 7, 1000, 1 << 20] {
            for h in [
                0u64,
                1,
                u64::MAX,
                0x8000_0000_0000_0000,
                0x1234_5678_9abc_def0,
            ] {
                assert!(reduce(h, n) < n);
            }
        }
        assert_eq!(reduce(u64::MAX, 0), 0);
    }
}
