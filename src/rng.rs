//! Counter-based random numbers: every draw is a pure function of
//! (seed, replication, consumer, month, purpose).
//!
//! There is no generator state to thread through the simulation. A draw does
//! not depend on which thread computes it, on the order consumers are visited,
//! or on what other draws were made, so results are identical with any number
//! of threads, and the baseline and scenario arms share every draw (common
//! random numbers).
//!
//! The generator is SplitMix64's output function (Steele, Lea and Flood,
//! "Fast splittable pseudorandom number generators", OOPSLA 2014) applied to
//! a Weyl-scrambled counter XOR a per-replication key:
//! `mix(counter * GAMMA ^ key)`. With a fixed key this is SplitMix64's own
//! counter-based construction (which passes BigCrush) over a permuted
//! counter; different keys give different permutations, so replications do
//! not share draws position by position. One call yields 64 bits for about a
//! dozen instructions, which matters: the monthly step needs several draws
//! per consumer.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a bijective 64-bit mixer.
#[inline(always)]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a draw is for. Distinct purposes never share a counter, so adding a
/// new kind of draw cannot shift existing ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    Traits = 1,
    Choice = 3,
    SetUp = 4,
}

/// The random stream of one replication.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    key: u64,
}

impl Streams {
    pub fn new(seed: u64, replication: u32) -> Streams {
        Streams { key: mix(mix(seed.wrapping_add(GAMMA)) ^ (replication as u64 + 1).wrapping_mul(GAMMA)) }
    }

    /// 64 random bits for (consumer, month, purpose, block). `month` counts
    /// from the first simulated month; traits use month 0. Blocks 0-15.
    #[inline(always)]
    pub fn bits(&self, consumer: u32, month: u32, purpose: Purpose, block: u32) -> u64 {
        let counter = (consumer as u64) | ((month as u64) << 32 | (purpose as u64) << 52 | ((block as u64) & 15) << 56);
        mix(counter.wrapping_mul(GAMMA) ^ self.key)
    }

    /// Keys of the 32-bit words of a month (`lane_draw`), one per word. The
    /// constant ("LANE" in ASCII) keeps these keys apart from `bits`'s
    /// counters.
    pub fn lane_keys<const N: usize>(&self, month: u32) -> [u32; N] {
        std::array::from_fn(|k| (mix(self.key ^ (0x4C41_4E45 << 32 | (month as u64) << 8 | k as u64)) >> 32) as u32)
    }
}

/// 32 random bits for a consumer from a month's word key: Wellons' lowbias32
/// integer hash (a bijection with near-ideal avalanche) of the consumer index
/// XOR the key. Each word of each month is a different permutation of the
/// consumers' draws. 32-bit multiplications vectorise where the 64-bit ones
/// of `Streams::bits` do not, so the fast path (`model::fast`) draws eight
/// consumers' words in a few vector instructions.
#[inline(always)]
pub fn lane_draw(consumer: u32, key: u32) -> u32 {
    let mut x = consumer ^ key;
    x ^= x >> 16;
    x = x.wrapping_mul(0x21F0_AAAD);
    x ^= x >> 15;
    x = x.wrapping_mul(0xD35A_2D97);
    x ^ x >> 15
}

/// A uniform in [0, 1) from the top 32 of 64 random bits.
#[inline(always)]
pub fn unit(bits: u64) -> f64 {
    (bits >> 32) as f64 * (1.0 / 4_294_967_296.0)
}

/// A uniform in [0, 1) from the low 16 bits: enough resolution (1.5e-5) for
/// the state updates that use it.
#[inline(always)]
pub fn unit16(bits: u64) -> f32 {
    (bits & 0xFFFF) as f32 * (1.0 / 65_536.0)
}

/// Quantiles of the unit exponential at the midpoints of 4,096 equal
/// probability bins: a draw `E` from 12 random bits, for "at least one
/// order" = "first arrival before the expected count" (E < lambda).
pub struct ExpTable(Box<[f32; 4096]>);

/// The table of first-arrival draws, built once for the whole process.
pub static FIRST_ARRIVALS: std::sync::LazyLock<ExpTable> = std::sync::LazyLock::new(ExpTable::new);

impl ExpTable {
    pub fn new() -> ExpTable {
        let mut t = Box::new([0f32; 4096]);
        for (k, slot) in t.iter_mut().enumerate() {
            *slot = -(1.0 - (k as f64 + 0.5) / 4096.0).ln() as f32;
        }
        ExpTable(t)
    }

    /// The quantiles, for vector look-ups.
    pub fn values(&self) -> &[f32; 4096] {
        &self.0
    }

    #[inline(always)]
    pub fn draw(&self, bits12: u64) -> f32 {
        self.0[(bits12 & 4095) as usize]
    }
}

impl Default for ExpTable {
    fn default() -> Self {
        ExpTable::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_output_matches_reference_values() {
        // SplitMix64 seeded with 0 outputs mix(gamma), mix(2 gamma), ...
        assert_eq!(mix(GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix(GAMMA.wrapping_mul(2)), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(mix(GAMMA.wrapping_mul(3)), 0x06C4_5D18_8009_454F);
        assert_eq!(mix(GAMMA.wrapping_mul(4)), 0xF88B_B8A8_724C_81EC);
    }

    #[test]
    fn uniforms_are_uniform_and_streams_independent() {
        let (a, b) = (Streams::new(7, 0), Streams::new(7, 1));
        let n = 200_000u32;
        let (mut sum, mut below, mut prod) = (0.0, 0u32, 0.0);
        for i in 0..n {
            let u = unit(a.bits(i, 3, Purpose::Choice, 0));
            let v = unit(b.bits(i, 3, Purpose::Choice, 0));
            sum += u;
            below += (u < 0.1) as u32;
            prod += (u - 0.5) * (v - 0.5);
        }
        let nf = n as f64;
        // Mean of U(0,1): sd 0.2887/sqrt(n); a proportion 0.1: sd 0.3/sqrt(n);
        // covariance of independent uniforms: sd (1/12)/sqrt(n). 4 sd each.
        assert!((sum / nf - 0.5).abs() < 4.0 * 0.2887 / nf.sqrt());
        assert!((below as f64 / nf - 0.1).abs() < 4.0 * 0.3 / nf.sqrt());
        assert!((prod / nf).abs() < 4.0 / 12.0 / nf.sqrt());
    }

    #[test]
    fn lane_draws_are_uniform_and_words_and_months_independent() {
        let s = Streams::new(7, 0);
        let (a, b) = (s.lane_keys::<2>(3), s.lane_keys::<1>(4));
        let n = 200_000u32;
        let unit32 = |x: u32| x as f64 / 4_294_967_296.0;
        let (mut sum, mut below, mut prod_words, mut prod_months) = (0.0, 0u32, 0.0, 0.0);
        for i in 0..n {
            let (u, v, w) = (unit32(lane_draw(i, a[0])), unit32(lane_draw(i, a[1])), unit32(lane_draw(i, b[0])));
            sum += u;
            below += (u < 0.1) as u32;
            prod_words += (u - 0.5) * (v - 0.5);
            prod_months += (u - 0.5) * (w - 0.5);
        }
        // As in `uniforms_are_uniform_and_streams_independent`: 4 sd each.
        let nf = n as f64;
        assert!((sum / nf - 0.5).abs() < 4.0 * 0.2887 / nf.sqrt());
        assert!((below as f64 / nf - 0.1).abs() < 4.0 * 0.3 / nf.sqrt());
        assert!((prod_words / nf).abs() < 4.0 / 12.0 / nf.sqrt());
        assert!((prod_months / nf).abs() < 4.0 / 12.0 / nf.sqrt());
        // Each 16-bit half is uniform too (the fast path splits words in two).
        let high_below = (0..n).filter(|&i| lane_draw(i, a[0]) >> 16 < 6_554).count() as f64 / nf;
        assert!((high_below - 0.1).abs() < 4.0 * 0.3 / nf.sqrt());
    }

    #[test]
    fn exponential_table_gives_poisson_first_arrivals() {
        let t = ExpTable::new();
        let s = Streams::new(3, 0);
        let n = 100_000u32;
        let hits = (0..n).filter(|&i| t.draw(s.bits(i, 0, Purpose::Choice, 0)) < 0.7).count();
        let p = 1.0 - (-0.7f64).exp();
        let got = hits as f64 / n as f64;
        // Binomial sd 0.0015; the 12-bit grid adds at most 1/4096.
        assert!((got - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt() + 1.0 / 4096.0, "{got} vs {p}");
    }
}
