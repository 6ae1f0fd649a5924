//! A small, seeded, portable pseudo-random generator (SplitMix64).
//!
//! The simulator needs the same bytes for the same seed on every platform and every run, and
//! nothing cryptographic: SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom
//! number generators", OOPSLA 2014) is a few instructions per draw and passes BigCrush.
//! Independent streams are derived with [`Rng::fork`], so adding draws to one generator does
//! not shift the values another one produces.

/// SplitMix64 state. Draws take `&self` (the state is a `Cell`) so a draw can be an argument
/// of a call that borrows the generator's owner mutably.
#[derive(Debug, Clone)]
pub struct Rng {
    state: std::cell::Cell<u64>,
}

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: std::cell::Cell::new(seed ^ 0x5851_f42d_4c95_7f2d),
        }
    }

    /// An independent generator named by `stream` (same seed and stream, same values).
    pub fn fork(&self, stream: u64) -> Rng {
        let r = Rng {
            state: std::cell::Cell::new(
                self.state.get() ^ stream.wrapping_mul(GAMMA).rotate_left(17),
            ),
        };
        // Mix once so nearby streams do not start on nearby states.
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let mut z = self.state.get().wrapping_add(GAMMA);
        self.state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`0` when `n` is 0), by Lemire's multiply-shift (the bias is below
    /// 2^-32 for the small ranges used here).
    pub fn below(&self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A value in `lo..=hi`.
    pub fn range(&self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.unit() < p
    }

    /// An element of a non-empty slice (the first one for an empty range never happens:
    /// callers pass constant tables).
    pub fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u64) as usize;
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// An exponentially distributed gap with mean `mean` (a Poisson process's inter-arrival
    /// time), at least 1.
    pub fn exp_gap(&self, mean: f64) -> i64 {
        let u = 1.0 - self.unit(); // (0, 1]
        ((-u.ln() * mean) as i64).max(1)
    }

    /// `n` lowercase hex digits.
    pub fn hex(&self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(n);
        let mut bits = 0u64;
        for i in 0..n {
            if i % 16 == 0 {
                bits = self.next_u64();
            }
            s.push(char::from(HEX[(bits & 15) as usize]));
            bits >>= 4;
        }
        s
    }

    /// `n` characters of the alphabet Kubernetes uses for generated name suffixes
    /// (`bcdfghjklmnpqrstvwxz2456789`, no vowels, so no words).
    pub fn k8s_suffix(&self, n: usize) -> String {
        const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| char::from(ALPHA[self.below(ALPHA.len() as u64) as usize]))
            .collect()
    }

    /// A random UUID (version 4 layout).
    pub fn uuid(&self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_and_forks_are_independent() {
        let a = Rng::new(7);
        let b = Rng::new(7);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let f1 = Rng::new(7).fork(1);
        let f2 = Rng::new(7).fork(2);
        assert_ne!(f1.next_u64(), f2.next_u64());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.exp_gap(100.0) >= 1);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.hex(40).len(), 40);
        assert_eq!(r.uuid().len(), 36);
    }
}
