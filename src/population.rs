//! The consumers: compact per-agent traits and state, and how a replication's
//! population is drawn.
//!
//! Consumers are stored sorted by region cell, so a consumer's cell is implied
//! by its index, and new shoppers of later months are pre-drawn at the end of
//! their cell's range and become active when the cell's shopper count reaches
//! them. Each consumer takes 4 bytes of immutable traits, shared by both arms,
//! and 4 bytes of state per arm: 12 bytes in a two-arm run.

use crate::params::{Fitted, N_BANDS, N_FREQ, N_KAPPA, PopulationParams};
use crate::platform::Platform;
use crate::region::Geography;
use crate::rng::{Purpose, Streams};
use crate::wallet::{Wallet, WalletSet};
use rayon::prelude::*;
use std::ops::Range;

/// Immutable traits, bit-packed:
/// band (2) | frequency class (2) | friction level (4) | primary wallet (2) |
/// consideration set (6) | Alipay-averse (1) | WeChat-Pay-averse (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Traits(pub u32);

impl Traits {
    #[allow(clippy::too_many_arguments)]
    pub fn pack(band: usize, freq: usize, kappa: usize, primary: Wallet, consider: u8, averse: WalletSet) -> Traits {
        debug_assert!(band < N_BANDS && freq < N_FREQ && kappa < N_KAPPA);
        Traits(
            band as u32
                | (freq as u32) << 2
                | (kappa as u32) << 4
                | (primary.index() as u32) << 8
                | (consider as u32 & 0x3F) << 10
                | (averse.0 as u32 & 0b11) << 16,
        )
    }
    #[inline(always)]
    pub fn band(self) -> usize {
        (self.0 & 3) as usize
    }
    #[inline(always)]
    pub fn freq(self) -> usize {
        (self.0 >> 2 & 3) as usize
    }
    #[inline(always)]
    pub fn kappa(self) -> usize {
        (self.0 >> 4 & 15) as usize
    }
    #[inline(always)]
    pub fn primary(self) -> usize {
        (self.0 >> 8 & 3) as usize
    }
    #[inline(always)]
    pub fn considers(self, p: usize) -> bool {
        self.0 >> (10 + p) & 1 == 1
    }
    /// The consideration set as a 6-bit mask (bit p = platform p).
    #[inline(always)]
    pub fn consider_bits(self) -> usize {
        (self.0 >> 10 & 0x3F) as usize
    }
    /// Wallets this consumer will never take up (Alipay and WeChat Pay bits).
    #[inline(always)]
    pub fn averse(self) -> WalletSet {
        WalletSet((self.0 >> 16 & 0b11) as u8)
    }
}

/// Mutable state, bit-packed:
/// wallets held (3) | main platform (3, 7 = none yet) | habit level (5) |
/// wallet last used on each platform (6 x 2, 0 = none, else wallet + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct State(pub u32);

pub const NO_PLATFORM: usize = 7;
pub const HABIT_LEVELS: usize = 32;

impl State {
    pub fn new(held: WalletSet) -> State {
        State(held.0 as u32 | (NO_PLATFORM as u32) << 3)
    }
    #[inline(always)]
    pub fn held(self) -> WalletSet {
        WalletSet((self.0 & 7) as u8)
    }
    #[inline(always)]
    pub fn with_held(self, held: WalletSet) -> State {
        State(self.0 & !7 | held.0 as u32)
    }
    #[inline(always)]
    pub fn main(self) -> usize {
        (self.0 >> 3 & 7) as usize
    }
    #[inline(always)]
    pub fn habit(self) -> usize {
        (self.0 >> 6 & 31) as usize
    }
    #[inline(always)]
    pub fn with_main(self, main: usize, habit: usize) -> State {
        State(self.0 & !(0xFF << 3) | (main as u32) << 3 | (habit as u32) << 6)
    }
    /// 0 = never paid on this platform, else wallet index + 1.
    #[inline(always)]
    pub fn last_wallet(self, p: usize) -> usize {
        (self.0 >> (11 + 2 * p) & 3) as usize
    }
    #[inline(always)]
    pub fn with_last_wallet(self, p: usize, code: usize) -> State {
        let shift = 11 + 2 * p;
        State(self.0 & !(3 << shift) | (code as u32) << shift)
    }
}

/// One replication's consumers: their fixed traits and where each cell's
/// consumers are. Their state lives apart (one array per arm).
pub struct Population {
    pub traits: Vec<Traits>,
    /// Index range of each cell's consumers (all that will ever be active).
    pub cells: Vec<Range<u32>>,
}

/// How many consumers are active in each cell in each simulated month, and
/// how many real shoppers each represents.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// `active[t][c]`: consumers of cell c active in horizon month t.
    pub active: Vec<Vec<u32>>,
    /// `weight[t][c]`: real shoppers per active consumer.
    pub weight: Vec<Vec<f64>>,
}

impl Schedule {
    /// `path` holds shoppers at the end of each month from the anchor; the
    /// horizon month t is served by the stock at the end of the month before.
    pub fn new(path: &[Vec<f64>], first: usize, months: usize, scale: f64) -> Schedule {
        let mut active = Vec::with_capacity(months);
        let mut weight = Vec::with_capacity(months);
        for t in 0..months {
            let stock = &path[first + t];
            let a: Vec<u32> = stock.iter().map(|s| (s / scale).round() as u32).collect();
            weight.push(stock.iter().zip(&a).map(|(s, &n)| if n > 0 { s / n as f64 } else { 0.0 }).collect());
            active.push(a);
        }
        Schedule { active, weight }
    }

    pub fn capacity(&self) -> Vec<u32> {
        let n = self.active[0].len();
        (0..n).map(|c| self.active.iter().map(|a| a[c]).max().unwrap_or(0)).collect()
    }
}

/// Probabilities from which a cell's consumers are drawn.
struct CellDraw {
    band_cdf: [f64; N_BANDS],
    wechat_only: [f64; N_BANDS],
    alipay_only: f64,
}

impl Population {
    /// Draws a replication's consumers. Traits come from counter-based draws
    /// keyed by consumer index, so any consumer can be drawn independently.
    /// Draws a replication's consumers and their state at entry. Draws are
    /// keyed by consumer index, so blocks are filled in parallel with the
    /// same result whatever the thread count.
    pub fn generate(
        geo: &Geography,
        schedule: &Schedule,
        pop: &PopulationParams,
        fitted: &Fitted,
        entrant_mix: Option<[f64; 3]>,
        streams: &Streams,
    ) -> (Population, Vec<State>) {
        const BLOCK: usize = 1 << 16;
        let capacity = schedule.capacity();
        let initial_active = &schedule.active[0];
        let mut cells = Vec::with_capacity(capacity.len());
        let mut next = 0u32;
        for &n in &capacity {
            cells.push(next..next + n);
            next += n;
        }
        let total = next as usize;
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let p_alipay_primary = sigmoid(fitted.primary_alipay_log_odds);
        let draws: Vec<CellDraw> = geo.cells.iter().map(|cell| cell_draw(cell.rural, &cell.band_shares, pop, fitted)).collect();
        let mut traits = vec![Traits::default(); total];
        let mut state = vec![State::default(); total];
        traits.par_chunks_mut(BLOCK).zip(state.par_chunks_mut(BLOCK)).enumerate().for_each(|(block, (tc, sc))| {
            let first = (block * BLOCK) as u32;
            let mut c = cells.partition_point(|r| r.end <= first);
            for (j, (t, s)) in tc.iter_mut().zip(sc.iter_mut()).enumerate() {
                let i = first + j as u32;
                while cells[c].end <= i {
                    c += 1;
                }
                let entrant = i - cells[c].start >= initial_active[c];
                (*t, *s) = draw_consumer(i, &draws[c], pop, p_alipay_primary, if entrant { entrant_mix } else { None }, streams);
            }
        });
        sort_by_type(&mut traits, &mut state, &cells, initial_active);
        (Population { traits, cells }, state)
    }

    pub fn len(&self) -> usize {
        self.traits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.traits.is_empty()
    }
}

/// Orders each cell's initial consumers by type (`type_order`), so that the
/// monthly step's batches of neighbours nearly always share band, primary
/// wallet and wallets held (`model::fast`). Consumers are exchangeable within a cell
/// (draws are keyed by position), so this relabels them without changing
/// the model. Shoppers who enter later keep their order: they become active
/// in it.
fn sort_by_type(traits: &mut [Traits], state: &mut [State], cells: &[Range<u32>], initial_active: &[u32]) {
    let mut segments = Vec::with_capacity(cells.len());
    let (mut traits_rest, mut state_rest) = (traits, state);
    let mut offset = 0usize;
    for (range, &n) in cells.iter().zip(initial_active) {
        let (start, len) = (range.start as usize, (n as usize).min(range.len()));
        let (_, t) = std::mem::take(&mut traits_rest).split_at_mut(start - offset);
        let (_, s) = std::mem::take(&mut state_rest).split_at_mut(start - offset);
        let (tc, t) = t.split_at_mut(len);
        let (sc, s) = s.split_at_mut(len);
        segments.push((tc, sc));
        (traits_rest, state_rest, offset) = (t, s, start + len);
    }
    segments.into_par_iter().for_each(|(tc, sc)| {
        // One 64-bit word per consumer (type order 21 bits | traits 18 |
        // state 23) sorts several times faster than a tuple.
        let mut keyed: Vec<u64> =
            tc.iter().zip(sc.iter()).map(|(t, s)| (type_order(*t, *s) as u64) << 41 | (t.0 as u64) << 23 | s.0 as u64).collect();
        keyed.sort_unstable();
        for ((t, s), k) in tc.iter_mut().zip(sc.iter_mut()).zip(keyed) {
            (*t, *s) = (Traits((k >> 23) as u32 & 0x3_FFFF), State(k as u32 & 0x7F_FFFF));
        }
    });
}

/// The order of types within a cell: band, primary wallet and wallets held
/// first (the fast path sums a run of consumers that share them in one
/// accumulator), then the remaining traits.
fn type_order(t: Traits, s: State) -> u32 {
    (t.band() as u32) << 20
        | (t.primary() as u32) << 18
        | (s.held().0 as u32) << 15
        | (t.averse().0 as u32) << 13
        | (t.consider_bits() as u32) << 7
        | (t.freq() as u32) << 5
        | t.kappa() as u32
}

fn cell_draw(rural: bool, band_shares: &[f64; N_BANDS], pop: &PopulationParams, fitted: &Fitted) -> CellDraw {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut band_cdf = [0.0; N_BANDS];
    let mut acc = 0.0;
    for b in 0..N_BANDS {
        acc += band_shares[b];
        band_cdf[b] = acc;
    }
    band_cdf[N_BANDS - 1] = 1.0;
    let mut wechat_only = [0.0; N_BANDS];
    for (b, slot) in wechat_only.iter_mut().enumerate() {
        let mut lo = fitted.wechat_only_log_odds;
        if rural {
            lo += pop.wechat_only_rural_odds.ln();
        }
        if b == 0 {
            lo += pop.wechat_only_low_income_odds.ln();
        }
        *slot = sigmoid(lo);
    }
    CellDraw { band_cdf, wechat_only, alipay_only: sigmoid(fitted.alipay_only_log_odds) }
}

/// Draws one consumer's traits and initial state from 32-bit uniforms.
fn draw_consumer(
    i: u32,
    d: &CellDraw,
    pop: &PopulationParams,
    p_alipay_primary: f64,
    entrant_mix: Option<[f64; 3]>,
    streams: &Streams,
) -> (Traits, State) {
    // Uniform number k: the upper or lower half of block k / 2.
    let u = |k: u32| -> f64 {
        let b = streams.bits(i, 0, Purpose::Traits, k / 2);
        let half = if k % 2 == 0 { b >> 32 } else { b & 0xFFFF_FFFF };
        half as f64 / 4_294_967_296.0
    };
    let band = d.band_cdf.iter().position(|&c| u(0) < c).unwrap_or(N_BANDS - 1);
    let freq = ((u(1) * N_FREQ as f64) as usize).min(N_FREQ - 1);
    let kappa = ((u(2) * N_KAPPA as f64) as usize).min(N_KAPPA - 1);
    // Wallets: WeChat-Pay-only, Alipay-only or both; then a card.
    let (p_w, p_a) = match entrant_mix {
        Some([_, alipay_only, wechat_only]) => (wechat_only, alipay_only),
        None => (d.wechat_only[band], d.alipay_only * (1.0 - d.wechat_only[band])),
    };
    let w = u(3);
    let mut held = if w < p_w {
        WalletSet::of(&[Wallet::WechatPay])
    } else if w < p_w + p_a {
        WalletSet::of(&[Wallet::Alipay])
    } else {
        WalletSet::of(&[Wallet::Alipay, Wallet::WechatPay])
    };
    if u(4) < pop.card_holding {
        held = held.with(Wallet::Card);
    }
    let averse_draw = u(5) < pop.averse_share;
    let averse = match (held.contains(Wallet::Alipay), held.contains(Wallet::WechatPay)) {
        (false, _) if averse_draw => WalletSet::of(&[Wallet::Alipay]),
        (_, false) if averse_draw => WalletSet::of(&[Wallet::WechatPay]),
        _ => WalletSet::EMPTY,
    };
    let primary = if !held.contains(Wallet::Alipay) {
        Wallet::WechatPay
    } else if !held.contains(Wallet::WechatPay) || u(6) < p_alipay_primary {
        Wallet::Alipay
    } else {
        Wallet::WechatPay
    };
    let mut consider = 1u8 << Platform::Other.index();
    for p in 0..Platform::Other.index() {
        if u(7 + p as u32) < pop.inclusion[p] {
            consider |= 1 << p;
        }
    }
    (Traits::pack(band, freq, kappa, primary, consider, averse), State::new(held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let t = Traits::pack(2, 3, 15, Wallet::WechatPay, 0b101101, WalletSet::of(&[Wallet::Alipay]));
        assert_eq!((t.band(), t.freq(), t.kappa(), t.primary()), (2, 3, 15, 1));
        assert!(t.considers(0) && !t.considers(1) && t.considers(5));
        assert_eq!(t.averse(), WalletSet::of(&[Wallet::Alipay]));
        let s = State::new(WalletSet::of(&[Wallet::WechatPay, Wallet::Card]));
        assert_eq!(s.main(), NO_PLATFORM);
        let s = s.with_main(4, 31).with_last_wallet(5, 3).with_last_wallet(0, 2);
        assert_eq!((s.main(), s.habit(), s.last_wallet(5), s.last_wallet(0), s.last_wallet(3)), (4, 31, 3, 2, 0));
        assert_eq!(s.held(), WalletSet::of(&[Wallet::WechatPay, Wallet::Card]));
        let s = s.with_held(WalletSet::ALL);
        assert_eq!((s.held(), s.main(), s.last_wallet(5)), (WalletSet::ALL, 4, 3));
    }

    /// Sorting by type permutes each cell's initial consumers (the same
    /// traits and states, in type order) and leaves later entrants alone.
    #[test]
    fn sorting_by_type_orders_initial_consumers_and_keeps_entrants() {
        let streams = Streams::new(5, 0);
        let draw = |i: u32| {
            let r = streams.bits(i, 0, Purpose::Traits, 0);
            (Traits(r as u32 & 0x3_FFFF), State((r >> 32) as u32 & 0x7FFF))
        };
        let cells = [0u32..300, 300..301, 301..800];
        let initial = [250u32, 1, 400];
        let (mut traits, mut state): (Vec<Traits>, Vec<State>) = (0..800).map(draw).unzip();
        let (before_t, before_s) = (traits.clone(), state.clone());
        sort_by_type(&mut traits, &mut state, &cells, &initial);
        for (range, &n) in cells.iter().zip(&initial) {
            let (lo, mid, hi) = (range.start as usize, (range.start + n) as usize, range.end as usize);
            let key = |i: usize| type_order(traits[i], state[i]);
            assert!((lo + 1..mid).all(|i| key(i - 1) <= key(i)), "initial consumers sorted by type");
            let mut a: Vec<(u32, u32)> = (lo..mid).map(|i| (traits[i].0, state[i].0)).collect();
            let mut b: Vec<(u32, u32)> = (lo..mid).map(|i| (before_t[i].0, before_s[i].0)).collect();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "the same consumers");
            assert!((mid..hi).all(|i| traits[i] == before_t[i] && state[i] == before_s[i]), "entrants keep their order");
        }
    }
}
