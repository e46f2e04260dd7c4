//! The batched step, eight consumers at a time.
//!
//! Every consumer first draws wallet adoption here. Most then hold a usable
//! wallet on every platform (`MonthTables::fast_held`), and their step is the
//! same for all of them: weights from the month's tables, expected orders,
//! first arrivals, the wallet of the last order on the tracked platforms, the
//! main platform and its habit. Here that step runs over a batch of `BATCH`
//! neighbouring consumers, every quantity eight lanes: in AVX2 instructions
//! where the CPU has them (`avx2`: one instruction per line, table look-ups
//! as gathers, branches as selects), else lane by lane (`step_batch`), with
//! the same operations in the same order and so the same results. The
//! others (nothing usable on some platform: set-up or abandon) continue on
//! the general path (`Step::general`).
//!
//! Consumers are sorted by type within a cell (`population::sort_by_type`),
//! so a batch nearly always shares its band and the wallets held and primary
//! wallet: its expected orders and buyers are then summed lane-wise in a
//! group accumulator and folded into the band's accumulator only when the
//! group changes. Mixed batches add lane by lane.
//!
//! The draws of this path are 32-bit counter-based hashes of the consumer
//! index (`rng::lane_draw`), which vectorise, unlike 64-bit multiplication.

use super::{BandAcc, CellTables, JD, MonthTables, SPREAD, TAOBAO, TRACKED_MASK, choose_main, lambda_slot, tracked_slot};
use crate::choice::N_KEYS;
use crate::params::N_BANDS;
use crate::platform::N_PLATFORMS;
use crate::population::{State, Traits};
use crate::rng::{lane_draw, unit16};

/// Consumers per batch: eight 32-bit lanes fill a 256-bit vector register.
pub const BATCH: usize = 8;

type Lanes<T> = [T; BATCH];

/// Random words per consumer and month on the batched path. Words 0-4 as
/// 16-bit halves: 0 = [main platform | wallet on Taobao/Tmall], 1 = [wallet
/// on JD | arrival on Taobao/Tmall], 2 = [arrival on JD | on Pinduoduo], 3 =
/// [on Douyin | on Kuaishou], 4 = [on other platforms | unused]. Words 5 and
/// 6: adoption of Alipay and of WeChat Pay (top 31 bits).
pub const WORDS: usize = 7;

/// The word of the adoption draw of Alipay; WeChat Pay's follows.
const ADOPTION: usize = 5;

/// Where platform p's 16-bit arrival draw sits: word, and shift in it.
const fn arrival_half(p: usize) -> (usize, u32) {
    ((p + 3) / 2, 16 * ((p as u32 + 1) % 2))
}

/// Orders and buyers summed lane-wise over a run of batches that share band,
/// wallets held and primary wallet (the group), before they are folded into
/// the band's accumulator.
#[cfg_attr(test, derive(Debug, PartialEq))]
pub struct Group {
    /// band | held | primary of the group, or `NONE`.
    key: u32,
    /// Expected orders on the untracked platforms (the tracked platforms'
    /// entries stay 0), by lane; on the tracked platforms by the wallet last
    /// used there (the payment key).
    untracked: [Lanes<f32>; N_PLATFORMS],
    taobao: [Lanes<f32>; 4],
    jd: [Lanes<f32>; 4],
    buyers: [Lanes<u32>; N_PLATFORMS],
}

impl Group {
    const NONE: u32 = u32::MAX;

    pub fn new() -> Group {
        Group {
            key: Group::NONE,
            untracked: [[0.0; BATCH]; N_PLATFORMS],
            taobao: [[0.0; BATCH]; 4],
            jd: [[0.0; BATCH]; 4],
            buyers: [[0; BATCH]; N_PLATFORMS],
        }
    }

    /// Adds the group's sums to the band's accumulator and empties it. Lane
    /// sums run in lane order, so results do not depend on the machine.
    pub fn fold(&mut self, acc: &mut [BandAcc]) {
        if self.key == Group::NONE {
            return;
        }
        let band = (self.key >> 5) as usize;
        let hp = (self.key & 31) as usize;
        let a = &mut acc[band];
        let sum = |x: &Lanes<f32>| x.iter().fold(0.0f32, |s, &v| s + v);
        for p in 0..N_PLATFORMS {
            if TRACKED_MASK >> p & 1 == 0 {
                a.untracked[hp][p] += sum(&self.untracked[p]);
            }
            let n: u32 = self.buyers[p].iter().sum();
            a.buyers[p / 4] += (n as u64) << (16 * (p % 4));
        }
        for last in 0..4 {
            a.key_orders[TAOBAO][hp | last << 5] += sum(&self.taobao[last]);
            a.key_orders[JD][hp | last << 5] += sum(&self.jd[last]);
        }
        if hp & 3 == 2 {
            // WeChat-Pay-only consumers: held = {WeChat Pay} (bit 1) only.
            a.wechat_only_taobao_buyers += self.buyers[TAOBAO].iter().sum::<u32>();
        }
        *self = Group::new();
    }
}

/// A lane's payment keys: held | primary, and the wallets last used on
/// Taobao/Tmall and JD.
struct Key {
    hp: u32,
    last_t: u32,
    last_j: u32,
}

/// Adds one consumer's expected orders and buyers (`bought`: bit p set if it
/// bought on platform p) to its band's accumulator: the way of batches that
/// span more than one group.
#[inline(always)]
fn add_lane(a: &mut BandAcc, key: Key, orders: [f32; N_PLATFORMS], bought: usize) {
    let hp = key.hp as usize & 31;
    for p in 0..N_PLATFORMS {
        if TRACKED_MASK >> p & 1 == 0 {
            a.untracked[hp][p] += orders[p];
        }
    }
    a.key_orders[TAOBAO][hp | (key.last_t as usize & 3) << 5] += orders[TAOBAO];
    a.key_orders[JD][hp | (key.last_j as usize & 3) << 5] += orders[JD];
    let spread = &SPREAD[bought];
    a.buyers[0] += spread[0];
    a.buyers[1] += spread[1];
    // WeChat-Pay-only consumers: held = {WeChat Pay} (bit 1), no Alipay.
    a.wechat_only_taobao_buyers += (hp & 3 == 2 && bought >> TAOBAO & 1 != 0) as u32;
}

/// Counts the adoptions of a batch (`adopted`: lanes by wallet) in their
/// bands' accumulators.
fn count_adoptions(acc: &mut [BandAcc], band: &Lanes<u32>, adopted: [u32; 2]) {
    for (w, lanes) in adopted.into_iter().enumerate() {
        let mut rest = lanes;
        while rest != 0 {
            acc[band[rest.trailing_zeros() as usize % BATCH] as usize % N_BANDS].adoptions[w] += 1;
            rest &= rest - 1;
        }
    }
}

/// The fast path's per-lane inputs decoded from traits and state.
struct Decoded {
    band: Lanes<u32>,
    freq: Lanes<u32>,
    consider: Lanes<u32>,
    averse: Lanes<u32>,
    held: Lanes<u32>,
    /// held | primary << 3: the payment key of the untracked platforms.
    hp: Lanes<u32>,
    main: Lanes<u32>,
    level: Lanes<u32>,
    last_t: Lanes<u32>,
    last_j: Lanes<u32>,
}

#[inline(always)]
fn decode(tr: &Lanes<Traits>, s: &Lanes<State>) -> Decoded {
    let f = |g: &dyn Fn(u32, u32) -> u32| -> Lanes<u32> { std::array::from_fn(|l| g(tr[l].0, s[l].0)) };
    Decoded {
        band: f(&|t, _| t & 3),
        freq: f(&|t, _| t >> 2 & 3),
        consider: f(&|t, _| t >> 10 & 0x3F),
        averse: f(&|t, _| t >> 16 & 3),
        held: f(&|_, s| s & 7),
        hp: f(&|t, s| s & 7 | t >> 5 & 0x18),
        main: f(&|_, s| s >> 3 & 7),
        level: f(&|_, s| s >> 6 & 31),
        last_t: f(&|_, s| s >> 11 & 3),
        last_j: f(&|_, s| s >> 13 & 3),
    }
}

/// Draws wallet adoption for the live lanes of a batch, steps those that
/// take the fast path and returns the lanes left for the general path.
/// `first` is the index of lane 0's consumer, `keys` the month's keys of the
/// random words, `cell` the consumers' cell's tables.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn step_batch(
    t: &MonthTables,
    cell: &CellTables,
    keys: &[u32; WORDS],
    first: u32,
    tr: &Lanes<Traits>,
    s: &mut Lanes<State>,
    live: usize,
    acc: &mut [BandAcc],
    group: &mut Group,
) -> u32 {
    let mut d = decode(tr, s);
    // Adoption: a lane lacking Alipay or WeChat Pay, and not averse to it,
    // takes it up with the cell's monthly probability.
    let mut adopted = [0u32; 2];
    for (w, lanes) in adopted.iter_mut().enumerate() {
        for l in 0..live {
            let candidate = (d.held[l] | d.averse[l]) >> w & 1 == 0;
            if candidate && lane_draw(first + l as u32, keys[ADOPTION + w]) >> 1 < cell.adopt_cuts[w] {
                *lanes |= 1 << l;
            }
        }
    }
    for l in 0..live {
        let taken = (adopted[0] >> l & 1) | (adopted[1] >> l & 1) << 1;
        d.held[l] |= taken;
        d.hp[l] |= taken;
        s[l].0 |= taken;
    }
    count_adoptions(acc, &d.band, adopted);
    let fast: Lanes<bool> = std::array::from_fn(|l| l < live && t.pay.fast_held >> d.held[l] & 1 != 0);

    // Weights: the cell's row for (band, payment key) times consideration
    // and, on the main platform, habit.
    let hexp: Lanes<f32> = std::array::from_fn(|l| t.hexp[d.level[l] as usize & 31]);
    let mut w = [[0f32; BATCH]; N_PLATFORMS];
    for (p, wp) in w.iter_mut().enumerate() {
        for l in 0..BATCH {
            let tracked = |last: u32| (d.band[l] << 7) as usize | tracked_slot(d.hp[l] as usize, last as usize);
            let row = match p {
                TAOBAO => cell.taobao[tracked(d.last_t[l]) & 511],
                JD => cell.jd[tracked(d.last_j[l]) & 511],
                _ => cell.untracked[(d.band[l] << 5 | d.hp[l]) as usize & 127][p],
            };
            let considered = (d.consider[l] >> p & 1) as f32;
            let habit = if d.main[l] == p as u32 { hexp[l] } else { 1.0 };
            wp[l] = row * considered * habit;
        }
    }
    // The same sum as `lane_sum` over eight lanes whose last two are 0.
    let total: Lanes<f32> = std::array::from_fn(|l| ((w[0][l] + w[4][l]) + w[2][l]) + ((w[1][l] + w[5][l]) + w[3][l]));
    let ok: Lanes<bool> = std::array::from_fn(|l| fast[l] && total[l] > 0.0 && total[l].is_finite());
    let lambda: Lanes<f32> = std::array::from_fn(|l| t.lambda[lambda_slot(d.band[l] as usize, d.freq[l] as usize)]);
    let scale: Lanes<f32> = std::array::from_fn(|l| if ok[l] { lambda[l] / total[l] } else { 0.0 });
    let mut orders = [[0f32; BATCH]; N_PLATFORMS];
    for p in 0..N_PLATFORMS {
        for l in 0..BATCH {
            orders[p][l] = if ok[l] { w[p][l] * scale[l] } else { 0.0 };
        }
    }

    // Draws and first arrivals.
    let r: [Lanes<u32>; ADOPTION] = std::array::from_fn(|k| std::array::from_fn(|l| lane_draw(first + l as u32, keys[k])));
    let mut bought = [[false; BATCH]; N_PLATFORMS];
    for p in 0..N_PLATFORMS {
        let (word, shift) = arrival_half(p);
        for l in 0..BATCH {
            let e = t.exp.draw((r[word][l] >> (shift + 4)) as u64);
            bought[p][l] = orders[p][l] > e;
        }
    }

    // Main platform: one draw proportional to expected spend.
    let new_main: Lanes<u32> = std::array::from_fn(|l| {
        let spend: [f32; N_PLATFORMS] = std::array::from_fn(|p| orders[p][l] * t.aov[p][d.band[l] as usize & 3]);
        choose_main(&spend, unit16((r[0][l] & 0xFFFF) as u64), d.main[l] as usize) as u32
    });

    // Wallet of the month's last order on the tracked platforms, and the new state.
    for l in 0..BATCH {
        let slot_t = tracked_slot(d.hp[l] as usize, d.last_t[l] as usize) & (N_KEYS - 1);
        let slot_j = tracked_slot(d.hp[l] as usize, d.last_j[l] as usize) & (N_KEYS - 1);
        let (ct, cj) = (&t.pay.cuts[0], &t.pay.cuts[1]);
        let (vt, vj) = (r[0][l] >> 16, r[1][l] & 0xFFFF);
        let code_t = 1 + (vt >= ct[0][slot_t]) as u32 + (vt >= ct[1][slot_t]) as u32;
        let code_j = 1 + (vj >= cj[0][slot_j]) as u32 + (vj >= cj[1][slot_j]) as u32;
        let last_t = if bought[TAOBAO][l] { code_t } else { d.last_t[l] };
        let last_j = if bought[JD][l] { code_j } else { d.last_j[l] };
        let level = if new_main[l] == d.main[l] { t.habit_same[d.level[l] as usize & 31] } else { t.habit_switch };
        let next = s[l].0 & !(0xFFF << 3) | new_main[l] << 3 | level << 6 | last_t << 11 | last_j << 13;
        if ok[l] {
            s[l] = State(next);
        }
    }

    // Sums: wallet tallies lane by lane; orders and buyers into the group
    // when the whole batch belongs to it, else lane by lane.
    let mut general = 0u32;
    for l in 0..BATCH {
        if fast[l] {
            acc[d.band[l] as usize].wallets[(d.held[l] | d.averse[l] << 3) as usize & 31] += 1;
        } else if l < live {
            general |= 1 << l;
        }
    }
    let key = d.band[0] << 5 | d.hp[0];
    let uniform = (0..BATCH).all(|l| !ok[l] || d.band[l] << 5 | d.hp[l] == key);
    if uniform {
        if group.key != key {
            group.fold(acc);
            group.key = key;
        }
        for p in 0..N_PLATFORMS {
            for l in 0..BATCH {
                if TRACKED_MASK >> p & 1 == 0 {
                    group.untracked[p][l] += orders[p][l];
                }
                group.buyers[p][l] += (ok[l] && bought[p][l]) as u32;
            }
        }
        for last in 0..4u32 {
            for l in 0..BATCH {
                group.taobao[last as usize][l] += if d.last_t[l] == last { orders[TAOBAO][l] } else { 0.0 };
                group.jd[last as usize][l] += if d.last_j[l] == last { orders[JD][l] } else { 0.0 };
            }
        }
    } else {
        for l in (0..BATCH).filter(|&l| ok[l]) {
            let mask = (0..N_PLATFORMS).fold(0, |m, p| m | (bought[p][l] as usize) << p);
            let key = Key { hp: d.hp[l], last_t: d.last_t[l], last_j: d.last_j[l] };
            add_lane(&mut acc[d.band[l] as usize % N_BANDS], key, std::array::from_fn(|p| orders[p][l]), mask);
        }
    }
    general
}

/// `step_batch` in AVX2 instructions: the same operations on the same
/// values in the same order, eight lanes at a time, so the results are the
/// same bits (a test compares the two on random batches).
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use super::{ADOPTION, BATCH, Group, Key, WORDS, add_lane, arrival_half, count_adoptions, step_batch};
    use crate::model::{BandAcc, CellTables, JD, MonthTables, TAOBAO, TRACKED_MASK, choose_main, lambda_slot, tracked_slot};
    use crate::platform::N_PLATFORMS;
    use crate::population::{State, Traits};
    use crate::rng::unit16;
    use std::arch::x86_64::*;

    /// Whether this CPU can run `step_batch_avx2`.
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    /// `step_batch` for a full batch (eight live lanes), or for a partial one
    /// through the portable code.
    ///
    /// # Safety
    /// The CPU must support AVX2 (`available`).
    #[inline]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn step_batch_avx2(
        t: &MonthTables,
        cell: &CellTables,
        keys: &[u32; WORDS],
        first: u32,
        tr: &[Traits; BATCH],
        s: &mut [State; BATCH],
        live: usize,
        acc: &mut [BandAcc],
        group: &mut Group,
    ) -> u32 {
        if live < BATCH {
            return step_batch(t, cell, keys, first, tr, s, live, acc, group);
        }
        let i = |x: u32| _mm256_set1_epi32(x as i32);
        let f = _mm256_set1_ps;
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let one = i(1);
        // SAFETY (loads and stores): `tr` and `s` are eight 32-bit words.
        let trv = unsafe { _mm256_loadu_si256(tr.as_ptr() as *const __m256i) };
        let sv = unsafe { _mm256_loadu_si256(s.as_ptr() as *const __m256i) };
        // A bit field of every lane (immediate shifts: no shift-count register).
        macro_rules! field {
            ($v:expr, $shift:literal, $mask:expr) => {
                _mm256_and_si256(_mm256_srli_epi32::<$shift>($v), i($mask))
            };
        }
        let consumer = _mm256_add_epi32(i(first), lanes);
        // `rng::lane_draw` of every lane.
        let draw = |key: u32| {
            let mut x = _mm256_xor_si256(consumer, i(key));
            x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
            x = _mm256_mullo_epi32(x, i(0x21F0_AAAD));
            x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
            x = _mm256_mullo_epi32(x, i(0xD35A_2D97));
            _mm256_xor_si256(x, _mm256_srli_epi32(x, 15))
        };
        let band = _mm256_and_si256(trv, i(3));
        let freq = field!(trv, 2, 3);
        let consider = field!(trv, 10, 0x3F);
        let averse = field!(trv, 16, 3);

        // Adoption, drawn only where some lane may adopt that wallet.
        let mut held = _mm256_and_si256(sv, i(7));
        let candidates = _mm256_andnot_si256(_mm256_or_si256(held, averse), i(3));
        let mut adopted = [0u32; 2];
        for (w, lanes) in adopted.iter_mut().enumerate() {
            let bit = i(1 << w);
            let candidate = _mm256_cmpeq_epi32(_mm256_and_si256(candidates, bit), bit);
            if _mm256_movemask_epi8(candidate) != 0 {
                let below = _mm256_cmpgt_epi32(i(cell.adopt_cuts[w]), _mm256_srli_epi32(draw(keys[ADOPTION + w]), 1));
                let taken = _mm256_and_si256(candidate, below);
                held = _mm256_or_si256(held, _mm256_and_si256(taken, bit));
                *lanes = _mm256_movemask_ps(_mm256_castsi256_ps(taken)) as u32;
            }
        }
        let sv = _mm256_or_si256(sv, held);
        let hp = _mm256_or_si256(held, field!(trv, 5, 0x18));
        let main = field!(sv, 3, 7);
        let level = field!(sv, 6, 31);
        let last_t = field!(sv, 11, 3);
        let last_j = field!(sv, 13, 3);

        let bin = _mm256_or_si256(held, _mm256_slli_epi32(averse, 3));
        let fast = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_srlv_epi32(i(t.pay.fast_held), held), one), one);

        // Weights. Gathers index tables the month built with exactly these
        // sizes; every index is masked into range.
        // SAFETY (gathers): every index is masked below the table's length.
        // SAFETY: `hexp` and `habit_same` are 32 four-byte values each.
        let hexp = unsafe { lookup32(t.hexp.as_ptr(), level) };
        let uniform = uniform_band_hp(band, hp);
        let tables = if uniform {
            uniform_lookups(t, cell, band, hp, freq, last_t, last_j)
        } else {
            gathered_lookups(t, cell, band, freq, hp, last_t, last_j)
        };
        let mut w = [_mm256_setzero_ps(); N_PLATFORMS];
        for (p, wp) in w.iter_mut().enumerate() {
            // row x 1 x habit is row x habit exactly, and row x 0 x habit is
            // +0: the same bits as `step_batch`'s product, with a mask.
            let bit = i(1 << p);
            let considered = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(consider, bit), bit));
            let on_main = _mm256_castsi256_ps(_mm256_cmpeq_epi32(main, i(p as u32)));
            let habit = _mm256_blendv_ps(f(1.0), hexp, on_main);
            *wp = _mm256_and_ps(_mm256_mul_ps(tables.row[p], habit), considered);
        }
        let total = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(w[0], w[4]), w[2]), _mm256_add_ps(_mm256_add_ps(w[1], w[5]), w[3]));
        let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(total, _mm256_setzero_ps());
        let finite = _mm256_cmp_ps::<_CMP_LT_OQ>(total, f(f32::INFINITY));
        let ok = _mm256_and_ps(_mm256_and_ps(positive, finite), _mm256_castsi256_ps(fast));
        let scale = _mm256_and_ps(_mm256_div_ps(tables.lambda, total), ok);
        let orders: [__m256; N_PLATFORMS] = std::array::from_fn(|p| _mm256_and_ps(_mm256_mul_ps(w[p], scale), ok));

        // Draws and first arrivals: a 12-bit index from each 16-bit half.
        let r: [__m256i; ADOPTION] = std::array::from_fn(|k| draw(keys[k]));
        let exp = t.exp.values();
        let bought: [__m256; N_PLATFORMS] = std::array::from_fn(|p| {
            let (word, shift) = arrival_half(p);
            let index = if shift == 0 { field!(r[word], 4, 4095) } else { _mm256_srli_epi32::<20>(r[word]) };
            let e = unsafe { _mm256_i32gather_ps::<4>(exp.as_ptr(), index) };
            _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(orders[p], e), ok)
        });

        // Main platform.
        let spend: [__m256; N_PLATFORMS] =
            std::array::from_fn(|p| _mm256_mul_ps(orders[p], _mm256_permutevar8x32_ps(four(&t.aov[p]), band)));
        let s01 = _mm256_add_ps(spend[0], spend[1]);
        let s23 = _mm256_add_ps(spend[2], spend[3]);
        let s45 = _mm256_add_ps(spend[4], spend[5]);
        let c3 = _mm256_add_ps(s01, s23);
        let c5 = _mm256_add_ps(c3, s45);
        let u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(r[0], i(0xFFFF))), f(1.0 / 65_536.0));
        let target = _mm256_mul_ps(u, c5);
        let cumulative = [spend[0], s01, _mm256_add_ps(s01, spend[2]), c3, _mm256_add_ps(c3, spend[4]), c5];
        let mut below = _mm256_setzero_si256();
        for c in cumulative {
            below = _mm256_sub_epi32(below, _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(c, target)));
        }
        let top = _mm256_and_si256(_mm256_cmpeq_epi32(below, i(N_PLATFORMS as u32)), _mm256_castps_si256(ok));
        let mut new_main = below;
        if _mm256_movemask_ps(_mm256_castsi256_ps(top)) != 0 {
            // Only reachable through rounding at the top end (see `choose_main`).
            let mut m = [0u32; BATCH];
            let mut o = [[0f32; BATCH]; N_PLATFORMS];
            let mut old = [0u32; BATCH];
            let mut lane_u = [0u32; BATCH];
            unsafe {
                _mm256_storeu_si256(m.as_mut_ptr() as *mut __m256i, below);
                _mm256_storeu_si256(old.as_mut_ptr() as *mut __m256i, main);
                _mm256_storeu_si256(lane_u.as_mut_ptr() as *mut __m256i, _mm256_and_si256(r[0], i(0xFFFF)));
                for p in 0..N_PLATFORMS {
                    _mm256_storeu_ps(o[p].as_mut_ptr(), spend[p]);
                }
            }
            for l in 0..BATCH {
                if m[l] as usize == N_PLATFORMS {
                    let spend: [f32; N_PLATFORMS] = std::array::from_fn(|p| o[p][l]);
                    m[l] = choose_main(&spend, unit16(lane_u[l] as u64), old[l] as usize) as u32;
                }
            }
            new_main = unsafe { _mm256_loadu_si256(m.as_ptr() as *const __m256i) };
        }

        // Wallets last used and the new state.
        let code = |cuts: [__m256i; 2], v: __m256i| {
            _mm256_add_epi32(i(3), _mm256_add_epi32(_mm256_cmpgt_epi32(cuts[0], v), _mm256_cmpgt_epi32(cuts[1], v)))
        };
        let code_t = code(cut_lookups(t, 0, uniform, hp, last_t), _mm256_srli_epi32(r[0], 16));
        let code_j = code(cut_lookups(t, 1, uniform, hp, last_j), _mm256_and_si256(r[1], i(0xFFFF)));
        let new_t = _mm256_blendv_epi8(last_t, code_t, _mm256_castps_si256(bought[TAOBAO]));
        let new_j = _mm256_blendv_epi8(last_j, code_j, _mm256_castps_si256(bought[JD]));
        let same = _mm256_castps_si256(unsafe { lookup32(t.habit_same.as_ptr() as *const f32, level) });
        let level_next = _mm256_blendv_epi8(i(t.habit_switch), same, _mm256_cmpeq_epi32(new_main, main));
        let kept = _mm256_and_si256(sv, i(!(0xFFF << 3)));
        let next = _mm256_or_si256(
            _mm256_or_si256(kept, _mm256_slli_epi32(new_main, 3)),
            _mm256_or_si256(_mm256_slli_epi32(level_next, 6), _mm256_or_si256(_mm256_slli_epi32(new_t, 11), _mm256_slli_epi32(new_j, 13))),
        );
        let out = _mm256_blendv_epi8(sv, next, _mm256_castps_si256(ok));
        unsafe { _mm256_storeu_si256(s.as_mut_ptr() as *mut __m256i, out) };

        // Sums, as in `step_batch`.
        let fast_lanes = _mm256_movemask_ps(_mm256_castsi256_ps(fast)) as u32;
        let mut bins = [0u32; BATCH];
        let mut bands = [0u32; BATCH];
        unsafe {
            _mm256_storeu_si256(bins.as_mut_ptr() as *mut __m256i, bin);
            _mm256_storeu_si256(bands.as_mut_ptr() as *mut __m256i, band);
        }
        if adopted != [0, 0] {
            count_adoptions(acc, &bands, adopted);
        }
        let tally = _mm256_or_si256(_mm256_slli_epi32(band, 5), bin);
        if fast_lanes == 0xFF
            && _mm256_movemask_epi8(_mm256_cmpeq_epi32(tally, _mm256_permutevar8x32_epi32(tally, _mm256_setzero_si256()))) == -1
        {
            acc[bands[0] as usize].wallets[bins[0] as usize & 31] += BATCH as u32;
        } else {
            for l in 0..BATCH {
                if fast_lanes >> l & 1 != 0 {
                    acc[bands[l] as usize].wallets[bins[l] as usize & 31] += 1;
                }
            }
        }
        let key = _mm256_or_si256(_mm256_slli_epi32(band, 5), hp);
        let first_key = _mm256_extract_epi32::<0>(key) as u32;
        let matches =
            _mm256_or_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(key, i(first_key))), _mm256_xor_ps(ok, _mm256_castsi256_ps(i(u32::MAX))));
        if _mm256_movemask_ps(matches) == 0xFF {
            if group.key != first_key {
                group.fold(acc);
                group.key = first_key;
            }
            // SAFETY: the group's arrays are eight lanes each.
            unsafe {
                for p in 0..N_PLATFORMS {
                    if TRACKED_MASK >> p & 1 == 0 {
                        let sum = _mm256_add_ps(_mm256_loadu_ps(group.untracked[p].as_ptr()), orders[p]);
                        _mm256_storeu_ps(group.untracked[p].as_mut_ptr(), sum);
                    }
                    let n =
                        _mm256_sub_epi32(_mm256_loadu_si256(group.buyers[p].as_ptr() as *const __m256i), _mm256_castps_si256(bought[p]));
                    _mm256_storeu_si256(group.buyers[p].as_mut_ptr() as *mut __m256i, n);
                }
                for last in 0..4 {
                    let on_t = _mm256_castsi256_ps(_mm256_cmpeq_epi32(last_t, i(last as u32)));
                    let on_j = _mm256_castsi256_ps(_mm256_cmpeq_epi32(last_j, i(last as u32)));
                    let tv = _mm256_add_ps(_mm256_loadu_ps(group.taobao[last].as_ptr()), _mm256_and_ps(orders[TAOBAO], on_t));
                    let jv = _mm256_add_ps(_mm256_loadu_ps(group.jd[last].as_ptr()), _mm256_and_ps(orders[JD], on_j));
                    _mm256_storeu_ps(group.taobao[last].as_mut_ptr(), tv);
                    _mm256_storeu_ps(group.jd[last].as_mut_ptr(), jv);
                }
            }
        } else {
            let mut o = [[0f32; BATCH]; N_PLATFORMS];
            let mut b = [0u32; N_PLATFORMS];
            let mut hps = [0u32; BATCH];
            let mut lt = [0u32; BATCH];
            let mut lj = [0u32; BATCH];
            unsafe {
                for p in 0..N_PLATFORMS {
                    _mm256_storeu_ps(o[p].as_mut_ptr(), orders[p]);
                    b[p] = _mm256_movemask_ps(bought[p]) as u32;
                }
                _mm256_storeu_si256(hps.as_mut_ptr() as *mut __m256i, hp);
                _mm256_storeu_si256(lt.as_mut_ptr() as *mut __m256i, last_t);
                _mm256_storeu_si256(lj.as_mut_ptr() as *mut __m256i, last_j);
            }
            let ok_lanes = _mm256_movemask_ps(ok) as u32;
            for l in (0..BATCH).filter(|&l| ok_lanes >> l & 1 != 0) {
                let mask = (0..N_PLATFORMS).fold(0, |m, p| m | (b[p] as usize >> l & 1) << p);
                let key = Key { hp: hps[l], last_t: lt[l], last_j: lj[l] };
                add_lane(&mut acc[bands[l] as usize], key, std::array::from_fn(|p| o[p][l]), mask);
            }
        }
        !fast_lanes & 0xFF
    }

    /// `table[index]` in every lane for a table of 32 four-byte values
    /// (index: low 5 bits): four register permutations by the low three bits
    /// and two selections by bits 3 and 4, cheaper here than a gather.
    ///
    /// # Safety
    /// `table` must point to 32 readable four-byte values.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn lookup32(table: *const f32, index: __m256i) -> __m256 {
        const _: () = assert!(crate::population::HABIT_LEVELS == 32, "habit tables are looked up as 32 entries");
        // SAFETY: each load reads eight of the 32 values.
        let pick = |k: usize| _mm256_permutevar8x32_ps(unsafe { _mm256_loadu_ps(table.add(8 * k)) }, index);
        let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(index));
        let bit4 = _mm256_castsi256_ps(_mm256_slli_epi32::<27>(index));
        let low = _mm256_blendv_ps(pick(0), pick(1), bit3);
        let high = _mm256_blendv_ps(pick(2), pick(3), bit3);
        _mm256_blendv_ps(low, high, bit4)
    }

    /// Four values repeated in both halves of a register, for a permutation
    /// by a lane's 2-bit field.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn four(x: &[f32; 4]) -> __m256 {
        // SAFETY: `x` is four f32, the 128 bits read (unaligned load).
        _mm256_castsi256_ps(_mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) }))
    }

    /// `four` for integers.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn four_u(x: &[u32; 4]) -> __m256i {
        // SAFETY: as in `four`.
        _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) })
    }

    /// Four values of a table from `start` (masked so that four remain).
    fn four_at<T: Copy + Default>(table: &[T], start: usize) -> [T; 4] {
        std::array::from_fn(|k| table.get(start + k).copied().unwrap_or_default())
    }

    /// A batch's weights before consideration and habit, and its expected
    /// orders per month, lane by lane.
    struct Lookups {
        row: [__m256; N_PLATFORMS],
        lambda: __m256,
    }

    /// Whether every lane has the same band, wallets held and primary wallet,
    /// as nearly every batch of consumers sorted by type does.
    #[target_feature(enable = "avx2")]
    fn uniform_band_hp(band: __m256i, hp: __m256i) -> bool {
        let key = _mm256_or_si256(_mm256_slli_epi32(band, 5), hp);
        let first = _mm256_permutevar8x32_epi32(key, _mm256_setzero_si256());
        _mm256_movemask_epi8(_mm256_cmpeq_epi32(key, first)) == -1
    }

    /// Look-ups for a batch that shares band, wallets held and primary
    /// wallet: the untracked platforms' weights are the same in every lane,
    /// and everything else depends on one of four values per lane (frequency
    /// class, wallet last used), which sit side by side in the tables
    /// (`tracked_slot`): one load of four and a register permutation replace
    /// each gather. Same values as `gathered_lookups`.
    #[target_feature(enable = "avx2")]
    fn uniform_lookups(
        t: &MonthTables,
        cell: &CellTables,
        band: __m256i,
        hp: __m256i,
        freq: __m256i,
        last_t: __m256i,
        last_j: __m256i,
    ) -> Lookups {
        let band0 = (_mm256_extract_epi32::<0>(band) as usize) & 3;
        let hp0 = (_mm256_extract_epi32::<0>(hp) as usize) & 31;
        let tracked = band0 << 7 | tracked_slot(hp0, 0);
        let untracked = &cell.untracked[(band0 << 5 | hp0) & 127];
        let row = std::array::from_fn(|p| match p {
            TAOBAO => _mm256_permutevar8x32_ps(four(&four_at(&cell.taobao, tracked)), last_t),
            JD => _mm256_permutevar8x32_ps(four(&four_at(&cell.jd, tracked)), last_j),
            _ => _mm256_set1_ps(untracked[p]),
        });
        let lambda = _mm256_permutevar8x32_ps(four(&four_at(&t.lambda, lambda_slot(band0, 0))), freq);
        Lookups { row, lambda }
    }

    /// Look-ups for any batch, one gather per table.
    #[target_feature(enable = "avx2")]
    fn gathered_lookups(
        t: &MonthTables,
        cell: &CellTables,
        band: __m256i,
        freq: __m256i,
        hp: __m256i,
        last_t: __m256i,
        last_j: __m256i,
    ) -> Lookups {
        let i = |x: u32| _mm256_set1_epi32(x as i32);
        // SAFETY: every index is masked below its table's length;
        // `cell.untracked` is [[f32; 8]; 128], element (row, p) at 8 row + p.
        unsafe {
            let slot = |last: __m256i| _mm256_or_si256(_mm256_slli_epi32(hp, 2), last);
            let tracked = |last: __m256i| _mm256_and_si256(_mm256_or_si256(_mm256_slli_epi32(band, 7), slot(last)), i(511));
            let untracked = _mm256_slli_epi32(_mm256_and_si256(_mm256_or_si256(_mm256_slli_epi32(band, 5), hp), i(127)), 3);
            let row = std::array::from_fn(|p| match p {
                TAOBAO => _mm256_i32gather_ps::<4>(cell.taobao.as_ptr(), tracked(last_t)),
                JD => _mm256_i32gather_ps::<4>(cell.jd.as_ptr(), tracked(last_j)),
                _ => _mm256_i32gather_ps::<4>((cell.untracked.as_ptr() as *const f32).add(p), untracked),
            });
            let lambda_index = _mm256_and_si256(_mm256_or_si256(_mm256_slli_epi32(band, 2), freq), i(15));
            Lookups { row, lambda: _mm256_i32gather_ps::<4>(t.lambda.as_ptr(), lambda_index) }
        }
    }

    /// The payment split's two cut points on a tracked platform (0 =
    /// Taobao/Tmall, 1 = JD) for each lane's wallet last used there: by load
    /// and permutation where the batch shares held and primary wallet
    /// (`uniform`), else by gather.
    #[target_feature(enable = "avx2")]
    fn cut_lookups(t: &MonthTables, tracked: usize, uniform: bool, hp: __m256i, last: __m256i) -> [__m256i; 2] {
        let table = &t.pay.cuts[tracked & 1];
        if uniform {
            let slot = tracked_slot((_mm256_extract_epi32::<0>(hp) as usize) & 31, 0);
            std::array::from_fn(|c| _mm256_permutevar8x32_epi32(four_u(&four_at(&table[c], slot)), last))
        } else {
            let slot = _mm256_and_si256(_mm256_or_si256(_mm256_slli_epi32(hp, 2), last), _mm256_set1_epi32(127));
            // SAFETY: the slot is masked below the table's 128 entries.
            std::array::from_fn(|c| unsafe { _mm256_i32gather_epi32::<4>(table[c].as_ptr() as *const i32, slot) })
        }
    }
}
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::model::{BandAcc, PayTables, Previous};
    use crate::rng::{Purpose, Streams};
    use crate::wallet::N_WALLETS;

    /// Month tables of the default scenario before and after WeChat Pay is
    /// accepted on Taobao/Tmall, from synthetic last-month aggregates.
    fn tables() -> Vec<MonthTables> {
        let setup = crate::model::tests::default_setup();
        let rural = setup.rural();
        let cells = rural.len();
        let prev = Previous {
            cell_orders: (0..cells).map(|c| std::array::from_fn(|p| 1.0 + ((c * 7 + p * 3) % 11) as f64)).collect(),
            holding: vec![[0.9, 0.8, 0.4]; cells],
            potential: vec![[0.95; N_WALLETS]; cells],
        };
        let after = setup.timelines[1].last().expect("a horizon");
        [&setup.spinup_regime, after]
            .iter()
            .map(|regime| MonthTables::build(regime, PayTables::lookup(&setup.pay, regime), &setup.params, &rural, setup.lambda_bar, &prev))
            .collect()
    }

    /// Random valid traits and states; with `uniform`, every lane shares lane
    /// 0's band, primary wallet and wallets held (the group path).
    fn batch(streams: &Streams, n: u32, uniform: bool) -> ([Traits; BATCH], [State; BATCH]) {
        let mut tr = [Traits::default(); BATCH];
        let mut s = [State::default(); BATCH];
        for l in 0..BATCH {
            let r = streams.bits(n * BATCH as u32 + l as u32, 0, Purpose::Traits, 0);
            let field = |shift: u32, bits: u32| (r >> shift) as u32 & ((1 << bits) - 1);
            let band = field(0, 2) % 3;
            let primary = field(2, 2) % 3;
            tr[l] = Traits(band | field(4, 2) << 2 | field(6, 4) << 4 | primary << 8 | field(10, 6) << 10 | field(16, 2) << 16);
            let main = field(18, 3).min(6) % 7;
            let main = if main == 6 { 7 } else { main };
            s[l] = State(field(21, 3) | main << 3 | field(24, 5) << 6 | field(29, 2) << 11 | field(31, 2) << 13);
        }
        if uniform {
            for l in 1..BATCH {
                tr[l] = Traits(tr[l].0 & !0x303 | tr[0].0 & 0x303);
                s[l] = State(s[l].0 & !7 | s[0].0 & 7);
            }
        }
        (tr, s)
    }

    /// The AVX2 kernel and the portable one give the same states, the same
    /// general-path lanes and the same sums, bit for bit.
    #[test]
    fn avx2_kernel_matches_portable_kernel_bit_for_bit() {
        if !avx2::available() {
            return;
        }
        let streams = Streams::new(11, 0);
        let keys = streams.lane_keys::<WORDS>(5);
        let mut uniform_batches = 0;
        for t in &tables() {
            for cell in [0, 17, t.base.len() - 1] {
                let tables = t.cell(cell);
                let (mut acc_a, mut acc_b) = (vec![BandAcc::new(); N_BANDS], vec![BandAcc::new(); N_BANDS]);
                let (mut group_a, mut group_b) = (Group::new(), Group::new());
                for n in 0..4_000u32 {
                    let uniform = n % 2 == 0;
                    let (tr, s) = batch(&streams, n, uniform);
                    let (mut sa, mut sb) = (s, s);
                    let first = n * 8 + 3;
                    let ga = step_batch(t, tables, &keys, first, &tr, &mut sa, BATCH, &mut acc_a, &mut group_a);
                    // SAFETY: AVX2 is available (checked above).
                    let gb = unsafe { avx2::step_batch_avx2(t, tables, &keys, first, &tr, &mut sb, BATCH, &mut acc_b, &mut group_b) };
                    assert_eq!((ga, sa), (gb, sb), "batch {n} of cell {cell}");
                    uniform_batches += uniform as u32;
                }
                assert_eq!(group_a, group_b);
                group_a.fold(&mut acc_a);
                group_b.fold(&mut acc_b);
                assert_eq!(acc_a, acc_b);
                assert!(acc_a.iter().any(|a| a.key_orders[TAOBAO].iter().any(|&o| o > 0.0)), "the batches bought something");
                assert!(acc_a.iter().any(|a| a.adoptions.iter().any(|&n| n > 0)), "some lanes adopted a wallet");
            }
        }
        assert!(uniform_batches > 1_000);
    }
}
