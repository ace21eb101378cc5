//! Leader-stamped randomness: `States.UUID`, `States.MathRandom` and retry jitter draw from an
//! `Entropy` seeded by a value the leader put into the replicated command, so every replica computes
//! the same values. A splitmix64 sequence: tiny, well mixed, and stable forever (stored states replay it).

use serde::{Deserialize, Serialize};

/// A deterministic random stream. Store it (or its seed and `drawn`) with the execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entropy {
    pub seed: u64,
    /// How many 64-bit values were drawn so far.
    pub drawn: u64,
}

impl Entropy {
    /// A stream starting at the leader-stamped `seed`.
    pub fn new(seed: u64) -> Entropy {
        Entropy { seed, drawn: 0 }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.drawn = self.drawn.wrapping_add(1);
        mix(self
            .seed
            .wrapping_add(self.drawn.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }

    /// A value in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A version-4 UUID, lower-case hyphenated as AWS prints them.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

/// splitmix64's finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_and_uuid_shape() {
        let (mut a, mut b) = (Entropy::new(7), Entropy::new(7));
        let ua = a.uuid();
        assert_eq!(ua, b.uuid());
        assert_eq!(ua.len(), 36);
        assert_eq!(&ua[14..15], "4");
        assert!("89ab".contains(&ua[19..20]));
        assert_ne!(ua, a.uuid(), "successive draws differ");
        for _ in 0..1000 {
            let u = a.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_ne!(Entropy::new(8).next_u64(), Entropy::new(7).next_u64());
    }
}
