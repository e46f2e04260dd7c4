//! Counter-based random numbers: every draw is a pure function of
//! (seed, replication, consumer, month, purpose).
//!
//! There is no generator state to thread through the simulation. A draw does
//! not depend on which thread computes it, on the order consumers are visited,
//! or on what other draws were made, so results are identical with any number
//! of threads, and the baseline and scenario arms share every draw (common
//! random numbers). The generator is Philox4x32-10 (Salmon et al., SC'11,
//! "Parallel random numbers: as easy as 1, 2, 3"), checked against the
//! Random123 known-answer vectors below.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: a bijection of a 128-bit counter under a 64-bit key.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = (M0 as u64) * (c0 as u64);
        let p1 = (M1 as u64) * (c2 as u64);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    [c0, c1, c2, c3]
}

/// SplitMix64's finaliser (Steele, Lea and Flood 2014): a strong 64-bit mixer
/// used to turn (seed, replication) into a Philox key.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a draw is for. Distinct purposes never share a counter, so adding a
/// new kind of draw cannot shift existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    Traits = 1,
    Adoption = 2,
    Choice = 3,
    SetUp = 4,
}

/// The random stream of one replication.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    key: [u32; 2],
}

impl Streams {
    pub fn new(seed: u64, replication: u32) -> Streams {
        let k = splitmix64(splitmix64(seed) ^ (replication as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        Streams { key: [k as u32, (k >> 32) as u32] }
    }

    /// 128 random bits for (consumer, month, purpose, block). `month` counts
    /// from the start of the simulated history; traits use month 0.
    #[inline(always)]
    pub fn block(&self, consumer: u32, month: u32, purpose: Purpose, block: u32) -> [u32; 4] {
        philox4x32_10([consumer, month, purpose as u32, block], self.key)
    }
}

/// A uniform in [0, 1) from 32 random bits.
#[inline(always)]
pub fn unit(bits: u32) -> f64 {
    bits as f64 * (1.0 / 4_294_967_296.0)
}

/// A uniform in [0, 1) from 16 random bits: enough resolution (1.5e-5) for the
/// yes/no state updates that use it, at half the cost in bits.
#[inline(always)]
pub fn unit16(bits: u32) -> f32 {
    (bits & 0xFFFF) as f32 * (1.0 / 65_536.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors from Random123's `kat_vectors` (philox4x32_10).
    #[test]
    fn philox_matches_random123_known_answers() {
        assert_eq!(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
        assert_eq!(philox4x32_10([u32::MAX; 4], [u32::MAX; 2]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
        assert_eq!(
            philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn splitmix_matches_reference_outputs() {
        // SplitMix64 seeded with 0: the state advances by the golden gamma each call.
        let gamma = 0x9E37_79B9_7F4A_7C15u64;
        let first = splitmix64(0);
        let second = splitmix64(gamma);
        assert_eq!(first, 0xE220_A839_7B1D_CDAF);
        assert_eq!(second, 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn uniforms_are_uniform_within_sampling_error() {
        let s = Streams::new(7, 0);
        let n = 200_000u32;
        let mut sum = 0.0;
        let mut below_tenth = 0u32;
        for i in 0..n {
            let u = unit(s.block(i, 3, Purpose::Choice, 0)[0]);
            sum += u;
            below_tenth += (u < 0.1) as u32;
        }
        let mean = sum / n as f64;
        // sd of the mean of U(0,1) is 0.2887/sqrt(n) = 6.5e-4; allow 4 sd.
        assert!((mean - 0.5).abs() < 4.0 * 0.2887 / (n as f64).sqrt(), "{mean}");
        let p = below_tenth as f64 / n as f64;
        assert!((p - 0.1).abs() < 4.0 * (0.09f64 / n as f64).sqrt(), "{p}");
    }
}
