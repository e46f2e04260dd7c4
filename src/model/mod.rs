//! The monthly step: state + pure rules + last month's aggregates in, this
//! month's state and sums out.
//!
//! Per consumer and month (docs/MODEL.md, "One monthly step"):
//! 1. wallet adoption (Bass hazard from last month's holding in the cell);
//! 2. platform choice: a logit over the consideration set whose weights are
//!    tabulated per cell, band and payment key once a month;
//! 3. expected orders, GMV, payments and reach are accumulated (same
//!    expectation as sampling orders, far lower variance);
//! 4. sampled state updates: wallet last used on each platform, wallet set-up
//!    where nothing held was usable, main platform and habit.
//!
//! Consumers are visited in fixed chunks that never straddle a cell; chunk
//! results are reduced in chunk order, so sums do not depend on the number of
//! threads. Every draw is keyed by (consumer, month, purpose).

use crate::choice::{N_KEYS, pay_key, pay_table, setup_wallet};
use crate::observe::Sums;
use crate::params::{ModelParams, N_BANDS, N_FREQ, N_KAPPA};
use crate::platform::{N_PLATFORMS, Platform};
use crate::population::{HABIT_LEVELS, State, Traits};
use crate::rng::{ExpTable, FIRST_ARRIVALS, Purpose, Streams, unit16};
use crate::scenario::Regime;
use crate::wallet::{N_WALLETS, Wallet, WalletSet};
use rayon::prelude::*;

mod fast;
use fast::{BATCH, Group, WORDS};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Consumers per chunk: large enough to amortise the per-chunk work (16,384
/// rather than 4,096 made the step 7% faster), small enough to balance load
/// across threads, and below 65,536 for the packed 16-bit buyer counters.
pub const CHUNK: u32 = 16_384;

/// Last month's aggregates that this month's rules read.
#[derive(Debug, Clone)]
pub struct Previous {
    /// Real orders per platform in each cell.
    pub cell_orders: Vec<[f64; N_PLATFORMS]>,
    /// Holding and potential shares of each wallet in each cell.
    pub holding: Vec<[f64; N_WALLETS]>,
    pub potential: Vec<[f64; N_WALLETS]>,
}

impl Previous {
    /// Aggregates of a month from its per-cell sums (agent units) and weights.
    pub fn from_sums(cells: &[[Sums; N_BANDS]], weight: &[f64]) -> Previous {
        let mut out = Previous { cell_orders: Vec::new(), holding: Vec::new(), potential: Vec::new() };
        for (c, bands) in cells.iter().enumerate() {
            let mut s = Sums::default();
            for b in bands {
                s.add(b);
            }
            out.cell_orders.push(s.orders.map(|o| o * weight[c]));
            let n = s.consumers.max(1.0);
            out.holding.push(s.holding.map(|h| h / n));
            out.potential.push(s.potential.map(|h| h / n));
        }
        out
    }
}

/// Platforms whose wallet last used is tracked in the state (Taobao/Tmall and
/// JD, the walled gardens): payment stickiness applies there. Elsewhere every
/// wallet is accepted from the start and the payment split follows the
/// primary wallet without a memory (docs/MODEL.md, deviations).
pub const TRACKED_MASK: usize = 1 << Platform::Taobao as usize | 1 << Platform::Jd as usize;

const TAOBAO: usize = Platform::Taobao as usize;
const JD: usize = Platform::Jd as usize;

/// Platforms padded to a width the compiler can vectorise.
pub const LANES: usize = 8;

/// Everything the per-consumer step looks up, built once per month and arm
/// (the payment tables once per regime, the cells' tables when first needed).
pub struct MonthTables {
    /// exp(ASC + segment offset + promotion + b_social ln s~), by cell and band.
    pub base: Vec<[[f32; LANES]; N_BANDS]>,
    /// The payment tables of the month's regime.
    pub pay: Arc<PayTables>,
    /// 1 for platforms in the consideration set, by set.
    pub consider: Box<[[f32; LANES]; 64]>,
    /// exp(-kappa) of each friction level.
    pub kexp: [f32; N_KAPPA],
    /// exp(b_habit * habit) of each habit level.
    pub hexp: [f32; HABIT_LEVELS],
    pub habit_same: [u32; HABIT_LEVELS],
    pub habit_switch: u32,
    /// Expected orders per month by band and frequency class (`lambda_slot`),
    /// padded to 16 so that a vector gather with a masked index stays inside.
    pub lambda: [f32; 16],
    /// Average order value (CNY) by platform and band (padded to four, for
    /// a vector permutation by band).
    pub aov: [[f32; 4]; N_PLATFORMS],
    /// The first-arrival quantiles (built once per process).
    pub exp: &'static ExpTable,
    /// What the batched step looks up per cell (`CellTables`), built when
    /// first needed (`cell`).
    cells: Vec<OnceLock<CellTables>>,
    /// The month's chance of adopting Alipay and WeChat Pay, by cell.
    adopt: Vec<[f64; 2]>,
}

/// The month's tables that depend on the regime alone (who accepts what,
/// cashier defaults, payment behaviour) and not on last month's
/// aggregates: built once per regime (`PayTables::cache`), not every month.
pub struct PayTables {
    /// Payment nest per platform and payment key (see `choice::PayEntry`).
    pub usable: [[f32; N_KEYS]; N_PLATFORMS],
    pub setup: [[f32; N_KEYS]; N_PLATFORMS],
    pub split: [[[f32; N_WALLETS]; N_KEYS]; N_PLATFORMS],
    pub setup_wallet: [usize; N_PLATFORMS],
    /// 1 where the consumer is not averse to the platform's set-up wallet, by averse bits.
    pub kmask: [[f32; LANES]; 4],
    /// Bit `held` set where consumers holding those wallets (after adoption)
    /// take the batched path: a usable wallet on every platform this month.
    pub fast_held: u32,
    /// The payment split on Taobao/Tmall (0) and JD (1) as two cut points on
    /// a 16-bit uniform, by `tracked_slot`: the wallet is the number of cuts
    /// at or below the draw (0 = Alipay, 1 = WeChat Pay, 2 = card).
    pub cuts: [[[u32; N_KEYS]; 2]; 2],
}

impl PayTables {
    pub fn new(regime: &Regime) -> PayTables {
        let mut t = PayTables {
            usable: [[0.0; N_KEYS]; N_PLATFORMS],
            setup: [[0.0; N_KEYS]; N_PLATFORMS],
            split: [[[0.0; N_WALLETS]; N_KEYS]; N_PLATFORMS],
            setup_wallet: [0; N_PLATFORMS],
            kmask: [[0.0; LANES]; 4],
            fast_held: 0,
            cuts: [[[0; N_KEYS]; 2]; 2],
        };
        for p in 0..N_PLATFORMS {
            for (k, e) in pay_table(regime, p).iter().enumerate() {
                t.usable[p][k] = e.usable;
                t.setup[p][k] = e.setup;
                t.split[p][k] = e.split;
            }
            t.setup_wallet[p] = setup_wallet(regime, p).index();
        }
        for (bits, row) in t.kmask.iter_mut().enumerate() {
            for p in 0..N_PLATFORMS {
                let w = t.setup_wallet[p];
                row[p] = if bits >> w & 1 == 1 && w < 2 { 0.0 } else { 1.0 };
            }
        }
        // Wallets held for which some platform may have nothing usable: those
        // consumers take the general path.
        let general = |held: usize| {
            (0..N_PLATFORMS).any(|p| (0..4).any(|last| (0..N_WALLETS).any(|pr| t.setup[p][pay_key(WalletSet(held as u8), pr, last)] > 0.0)))
        };
        t.fast_held = (0..8).fold(0, |bits, held| bits | (!general(held) as u32) << held);
        for (tracked, p) in [TAOBAO, JD].into_iter().enumerate() {
            for (hp, last) in tracked_keys() {
                let split = &t.split[p][hp | last << 5];
                t.cuts[tracked][0][tracked_slot(hp, last)] = cut_point(split[0]);
                t.cuts[tracked][1][tracked_slot(hp, last)] = cut_point(split[0] + split[1]);
            }
        }
        t
    }

    /// The tables of every distinct regime in `regimes`, each built once.
    pub fn cache<'a>(regimes: impl IntoIterator<Item = &'a Regime>) -> Vec<(Regime, Arc<PayTables>)> {
        let mut out: Vec<(Regime, Arc<PayTables>)> = Vec::new();
        for regime in regimes {
            if !out.iter().any(|(r, _)| r == regime) {
                out.push((regime.clone(), Arc::new(PayTables::new(regime))));
            }
        }
        out
    }

    /// `regime`'s tables from `cache`, or built here if it is not there.
    pub fn lookup(cache: &[(Regime, Arc<PayTables>)], regime: &Regime) -> Arc<PayTables> {
        cache.iter().find(|(r, _)| r == regime).map_or_else(|| Arc::new(PayTables::new(regime)), |(_, t)| Arc::clone(t))
    }
}

/// Where `MonthTables::lambda` keeps a band and frequency class.
pub(crate) fn lambda_slot(band: usize, freq: usize) -> usize {
    (band << 2 | freq) & 15
}

/// A cell's tables for the batched step. Weights before consideration and
/// habit (base x usable weight): on Taobao/Tmall and JD by band and payment
/// key (`band << 7 | tracked_slot`), on the untracked platforms by band and
/// `held | primary << 3` (`band << 5 | ...`), all platforms side by side; one
/// look-up per platform and consumer. And the month's adoption of Alipay and
/// WeChat Pay: adopted where a 31-bit draw falls below the cut.
#[derive(Clone)]
pub struct CellTables {
    pub taobao: [f32; 512],
    pub jd: [f32; 512],
    pub untracked: [[f32; LANES]; 128],
    pub adopt_cuts: [u32; 2],
}

impl CellTables {
    fn new(base: &[[f32; LANES]; N_BANDS], pay_usable: &[[f32; N_KEYS]; N_PLATFORMS], adopt: [f64; 2]) -> CellTables {
        let mut out = CellTables { taobao: [0.0; 512], jd: [0.0; 512], untracked: [[0.0; LANES]; 128], adopt_cuts: [0; 2] };
        for (band, base) in base.iter().enumerate() {
            for (hp, last) in tracked_keys() {
                let (slot, key) = (band << 7 | tracked_slot(hp, last), hp | last << 5);
                out.taobao[slot] = base[TAOBAO] * pay_usable[TAOBAO][key];
                out.jd[slot] = base[JD] * pay_usable[JD][key];
            }
            for hp in 0..32 {
                for p in 0..N_PLATFORMS {
                    out.untracked[band << 5 | hp][p] = base[p] * pay_usable[p][hp];
                }
            }
        }
        out.adopt_cuts = adopt.map(|p| (p * 2_147_483_648.0).ceil().clamp(0.0, 2_147_483_647.0) as u32);
        out
    }
}

/// Where the batched step's tables of the tracked platforms keep payment key
/// (held | primary << 3 = `hp`, wallet last used there): the four wallets
/// last used side by side, so that a batch sharing held and primary wallet
/// loads all four in one instruction.
pub(crate) const fn tracked_slot(hp: usize, last: usize) -> usize {
    hp << 2 | last
}

/// Every (held | primary << 3, wallet last used) of a tracked platform.
fn tracked_keys() -> impl Iterator<Item = (usize, usize)> {
    (0..32).flat_map(|hp| (0..4).map(move |last| (hp, last)))
}

/// The smallest 16-bit draw `v` with v / 65536 >= x: comparing integers
/// against it decides exactly as comparing `unit16` against x.
fn cut_point(x: f32) -> u32 {
    (x as f64 * 65_536.0).ceil().clamp(0.0, 65_536.0) as u32
}

/// Buyers of each bought-platform mask, as packed 16-bit counters.
const SPREAD: [[u64; 2]; 64] = {
    let mut out = [[0u64; 2]; 64];
    let mut mask = 0;
    while mask < 64 {
        let mut p = 0;
        while p < N_PLATFORMS {
            if mask >> p & 1 == 1 {
                out[mask][p / 4] |= 1 << (16 * (p % 4));
            }
            p += 1;
        }
        mask += 1;
    }
    out
};

impl MonthTables {
    /// Cell `c`'s tables for the batched step. The first chunk of the cell
    /// to need them builds them, so that the threads share the building
    /// rather than all wait while one builds every cell before the month.
    pub fn cell(&self, c: usize) -> &CellTables {
        self.cells[c].get_or_init(|| CellTables::new(&self.base[c], &self.pay.usable, self.adopt[c]))
    }

    pub fn build(
        regime: &Regime,
        pay: Arc<PayTables>,
        params: &ModelParams,
        rural: &[bool],
        lambda_bar: f64,
        prev: &Previous,
    ) -> MonthTables {
        let b = &regime.behaviour;
        let pop = &params.population;
        let national = national_shares(&prev.cell_orders);
        let base: Vec<[[f32; LANES]; N_BANDS]> = rural
            .iter()
            .enumerate()
            .map(|(c, &is_rural)| {
                let cell_total: f64 = prev.cell_orders[c].iter().sum();
                let mut out = [[0f32; LANES]; N_BANDS];
                for (band, row) in out.iter_mut().enumerate() {
                    let v: [f64; N_PLATFORMS] = std::array::from_fn(|p| {
                        let shrunk = (prev.cell_orders[c][p] + b.social_prior_orders * national[p]) / (cell_total + b.social_prior_orders);
                        let social = if b.b_social > 0.0 { b.b_social * shrunk.max(1e-12).ln() } else { 0.0 };
                        params.fitted.asc[p] + b.offsets[is_rural as usize][band][p] + regime.promotion[p] + social
                    });
                    // Only ratios of the weights matter (every use is a logit
                    // share), so the row is divided by its largest weight and
                    // kept above exp(-80): stacked promotions can neither
                    // overflow single precision nor leave a consumer who does
                    // not consider the promoted platform with no weight at all.
                    let top = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    for p in 0..N_PLATFORMS {
                        row[p] = (v[p] - top).max(-80.0).exp() as f32;
                    }
                }
                out
            })
            .collect();
        let mut consider = Box::new([[0f32; LANES]; 64]);
        for (set, row) in consider.iter_mut().enumerate() {
            for p in 0..N_PLATFORMS {
                row[p] = (set >> p & 1) as f32;
            }
        }
        let kappa = b.kappa_levels();
        let carry = b.habit_carryover;
        let top = (HABIT_LEVELS - 1) as f64;
        let mut hexp = [0f32; HABIT_LEVELS];
        let mut habit_same = [0u32; HABIT_LEVELS];
        for l in 0..HABIT_LEVELS {
            let h = l as f64 / top;
            hexp[l] = (b.b_habit * h).exp() as f32;
            habit_same[l] = (top * (carry * h + 1.0 - carry)).round() as u32;
        }
        let freq = pop.frequency_multipliers();
        let mut lambda = [0f32; 16];
        let mut aov = [[0f32; 4]; N_PLATFORMS];
        for band in 0..N_BANDS {
            for f in 0..N_FREQ {
                lambda[lambda_slot(band, f)] = (lambda_bar * freq[f]) as f32;
            }
            for p in 0..N_PLATFORMS {
                aov[p][band] = (pop.aov[p] * pop.aov_band_multiplier[band]) as f32;
            }
        }
        // Monthly Bass hazard of Alipay and WeChat Pay, by cell.
        let adopt: Vec<[f64; 2]> = prev
            .holding
            .iter()
            .zip(&prev.potential)
            .map(|(h, m)| {
                std::array::from_fn(|w| {
                    let f = if m[w] > 0.0 { (h[w] / m[w]).min(1.0) } else { 0.0 };
                    1.0 - (-(b.bass_p[w] + b.bass_q[w] * f) / 12.0).exp()
                })
            })
            .collect();
        let cells = adopt.iter().map(|_| OnceLock::new()).collect();
        MonthTables {
            cells,
            adopt,
            base,
            pay,
            consider,
            kexp: kappa.map(|k| (-k).exp() as f32),
            hexp,
            habit_same,
            habit_switch: (top * (1.0 - carry)).round() as u32,
            lambda,
            aov,
            exp: &FIRST_ARRIVALS,
        }
    }
}

/// The main platform: one draw (`u` uniform) proportional to expected spend,
/// the first platform whose cumulative spend exceeds the target. Branch-free:
/// the answer is the number of cumulative sums at or below the target, with
/// the prefix sums in a shallow tree rather than a chain of additions.
#[inline(always)]
fn choose_main(spend: &[f32; N_PLATFORMS], u: f32, main: usize) -> usize {
    let (s01, s23, s45) = (spend[0] + spend[1], spend[2] + spend[3], spend[4] + spend[5]);
    let c3 = s01 + s23;
    let c5 = c3 + s45;
    let target = u * c5;
    let cumulative = [spend[0], s01, s01 + spend[2], c3, c3 + spend[4], c5];
    let below: usize = cumulative.iter().map(|&c| (c <= target) as usize).sum();
    if below < N_PLATFORMS {
        below
    } else {
        // Only reachable through rounding at the top end: the last platform with spend.
        (0..N_PLATFORMS).rev().find(|&p| spend[p] > 0.0).unwrap_or(main)
    }
}

/// Sum of eight lanes as a balanced tree: three dependent additions instead
/// of seven, which matters in the per-consumer step.
#[inline(always)]
fn tree_sum(x: &[f32; LANES]) -> f32 {
    ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))
}

fn national_shares(cell_orders: &[[f64; N_PLATFORMS]]) -> [f64; N_PLATFORMS] {
    let mut s = [0.0; N_PLATFORMS];
    for c in cell_orders {
        for p in 0..N_PLATFORMS {
            s[p] += c[p];
        }
    }
    let total: f64 = s.iter().sum();
    if total > 0.0 { s.map(|x| x / total) } else { [1.0 / N_PLATFORMS as f64; N_PLATFORMS] }
}

/// The fixed inputs of one month's step.
pub struct Step<'a> {
    pub tables: &'a MonthTables,
    pub traits: &'a [Traits],
    pub cells: &'a [Range<u32>],
    pub active: &'a [u32],
    /// Month counter for the random draws (0 = first simulated month).
    pub month: u32,
    pub streams: &'a Streams,
    /// Set when the run should stop: chunks not yet started are skipped, so
    /// even a month of a billion consumers stops within about a second.
    pub cancel: &'a AtomicBool,
}

/// A chunk's running totals for one income band, in agent units. Single
/// precision is enough within a chunk of `CHUNK` consumers; chunks are
/// summed in double precision.
#[derive(Clone)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct BandAcc {
    /// Expected orders at merchants where nothing held was usable.
    setup_orders: [f32; LANES],
    /// Buyers per platform as 16-bit counters packed four to a word (a chunk
    /// holds fewer than 65,536 consumers): one addition per consumer.
    buyers: [u64; 2],
    /// Expected orders by platform and payment key (general path and the
    /// tracked platforms).
    key_orders: [[f32; N_KEYS]; N_PLATFORMS],
    /// Expected orders on the untracked platforms by held wallets and primary
    /// wallet (their payment key), all platforms at once (fast path).
    untracked: [[f32; LANES]; 32],
    /// Consumers by held wallets (3 bits) and averse wallets (2 bits).
    wallets: [u32; 32],
    wechat_only_taobao_buyers: u32,
    setups: [u32; N_WALLETS],
    adoptions: [u32; N_WALLETS],
}

impl BandAcc {
    fn new() -> BandAcc {
        BandAcc {
            setup_orders: [0.0; LANES],
            buyers: [0; 2],
            key_orders: [[0.0; N_KEYS]; N_PLATFORMS],
            untracked: [[0.0; LANES]; 32],
            wallets: [0; 32],
            wechat_only_taobao_buyers: 0,
            setups: [0; N_WALLETS],
            adoptions: [0; N_WALLETS],
        }
    }

    /// Converts to sums: GMV is orders times the band's order value, payments
    /// split by the month's payment nest.
    fn into_sums(self, t: &MonthTables, band: usize) -> Sums {
        let mut s = Sums::default();
        for p in 0..N_PLATFORMS {
            let aov = t.aov[p][band] as f64;
            s.reach[p] = (self.buyers[p / 4] >> (16 * (p % 4)) & 0xFFFF) as f64;
            if TRACKED_MASK >> p & 1 == 0 {
                for (hp, row) in self.untracked.iter().enumerate() {
                    let o = row[p] as f64;
                    if o != 0.0 {
                        s.orders[p] += o;
                        for m in 0..N_WALLETS {
                            s.pay_orders[p][m] += o * t.pay.split[p][hp][m] as f64;
                        }
                    }
                }
            }
            for key in 0..N_KEYS {
                let o = self.key_orders[p][key] as f64;
                if o != 0.0 {
                    s.orders[p] += o;
                    for m in 0..N_WALLETS {
                        s.pay_orders[p][m] += o * t.pay.split[p][key][m] as f64;
                    }
                }
            }
            s.orders[p] += self.setup_orders[p] as f64;
            s.gmv[p] = s.orders[p] * aov;
            s.pay_orders[p][t.pay.setup_wallet[p]] += self.setup_orders[p] as f64;
            for m in 0..N_WALLETS {
                s.pay_gmv[p][m] = s.pay_orders[p][m] * aov;
            }
        }
        for (bin, &n) in self.wallets.iter().enumerate() {
            let n = n as f64;
            let held = WalletSet((bin & 7) as u8);
            let averse = WalletSet((bin >> 3) as u8);
            s.consumers += n;
            for w in Wallet::ALL {
                s.holding[w.index()] += n * held.contains(w) as u32 as f64;
                s.potential[w.index()] += n * (held.contains(w) || !averse.contains(w)) as u32 as f64;
            }
            s.dual += n * held.is_dual() as u32 as f64;
            s.wechat_only += n * held.is_wechat_only() as u32 as f64;
        }
        s.wechat_only_taobao_buyers = self.wechat_only_taobao_buyers as f64;
        s.setups = self.setups.map(|x| x as f64);
        s.adoptions = self.adoptions.map(|x| x as f64);
        s
    }
}

impl Step<'_> {
    /// Advances every active consumer by one month and returns the sums of
    /// each cell by band, in agent units.
    pub fn run(&self, state: &mut [State]) -> Vec<[Sums; N_BANDS]> {
        let mut pieces: Vec<(usize, u32, &mut [State])> = Vec::new();
        let mut rest: &mut [State] = state;
        let mut offset = 0u32;
        for (c, range) in self.cells.iter().enumerate() {
            let end = range.start + self.active[c].min(range.end - range.start);
            let mut lo = range.start;
            while lo < end {
                let hi = (lo + CHUNK).min(end);
                let (_, tail) = std::mem::take(&mut rest).split_at_mut((lo - offset) as usize);
                let (chunk, tail) = tail.split_at_mut((hi - lo) as usize);
                pieces.push((c, lo, chunk));
                rest = tail;
                offset = hi;
                lo = hi;
            }
        }
        let partials: Vec<(usize, [Sums; N_BANDS])> = pieces
            .into_par_iter()
            // Every chunk its own task, so that a thread that runs out of
            // work can take any chunk still waiting rather than idle while
            // the other works through a run of chunks it was handed whole
            // (a tenth of a month's time at a million consumers).
            .with_max_len(1)
            .map(
                |(c, first, chunk)| {
                    if self.cancel.load(Ordering::Relaxed) { (c, Default::default()) } else { (c, self.chunk(c, first, chunk)) }
                },
            )
            .collect();
        let mut out = vec![[Sums::default(); N_BANDS]; self.cells.len()];
        for (c, sums) in partials {
            for b in 0..N_BANDS {
                out[c][b].add(&sums[b]);
            }
        }
        out
    }

    /// One chunk: the fast path in batches (`fast`), in AVX2 instructions
    /// where the CPU has them, the general path consumer by consumer.
    fn chunk(&self, cell: usize, first: u32, states: &mut [State]) -> [Sums; N_BANDS] {
        #[cfg(target_arch = "x86_64")]
        if fast::avx2::available() {
            // SAFETY: the CPU supports AVX2.
            return unsafe { self.chunk_avx2(cell, first, states) };
        }
        self.chunk_with(cell, first, states, fast::step_batch)
    }

    /// `chunk` compiled for AVX2 as a whole, so that the batch kernel is
    /// inlined into the loop and its constants stay in registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn chunk_avx2(&self, cell: usize, first: u32, states: &mut [State]) -> [Sums; N_BANDS] {
        // SAFETY: this function only runs where AVX2 is available.
        self.chunk_with(cell, first, states, |t, tables, keys, i0, tr, s, live, acc, group| unsafe {
            fast::avx2::step_batch_avx2(t, tables, keys, i0, tr, s, live, acc, group)
        })
    }

    #[inline(always)]
    fn chunk_with(
        &self,
        cell: usize,
        first: u32,
        states: &mut [State],
        kernel: impl Fn(
            &MonthTables,
            &CellTables,
            &[u32; WORDS],
            u32,
            &[Traits; BATCH],
            &mut [State; BATCH],
            usize,
            &mut [BandAcc],
            &mut Group,
        ) -> u32,
    ) -> [Sums; N_BANDS] {
        let t = self.tables;
        let tables = t.cell(cell);
        let keys = self.streams.lane_keys::<WORDS>(self.month);
        let mut acc = vec![BandAcc::new(); N_BANDS];
        let mut group = Group::new();
        for (b, batch) in states.chunks_mut(BATCH).enumerate() {
            let i0 = first + (b * BATCH) as u32;
            let live = batch.len();
            let tr: [Traits; BATCH] = match self.traits.get(i0 as usize..i0 as usize + BATCH).map(<[Traits; BATCH]>::try_from) {
                Some(Ok(full)) if live == BATCH => full,
                _ => std::array::from_fn(|l| if l < live { self.traits[i0 as usize + l] } else { Traits::default() }),
            };
            let general = match <&mut [State; BATCH]>::try_from(&mut *batch) {
                Ok(full) => kernel(t, tables, &keys, i0, &tr, full, BATCH, &mut acc, &mut group),
                Err(_) => {
                    let mut padded = [State::default(); BATCH];
                    padded[..live].copy_from_slice(batch);
                    let general = fast::step_batch(t, tables, &keys, i0, &tr, &mut padded, live, &mut acc, &mut group);
                    batch.copy_from_slice(&padded[..live]);
                    general
                }
            };
            if general != 0 {
                for l in (0..live).filter(|&l| general >> l & 1 != 0) {
                    batch[l] = self.general(i0 + l as u32, tr[l], batch[l], cell, &mut acc[tr[l].band()]);
                }
            }
        }
        group.fold(&mut acc);
        let mut out = [Sums::default(); N_BANDS];
        for (band, a) in acc.into_iter().enumerate() {
            out[band] = a.into_sums(t, band);
        }
        out
    }

    #[inline(always)]
    fn general(&self, i: u32, tr: Traits, mut s: State, cell: usize, acc: &mut BandAcc) -> State {
        let t = self.tables;
        let band = tr.band();
        let averse = tr.averse();
        // Adoption came first, in the batch (`fast::step_batch`).
        let mut held = s.held();
        acc.wallets[(held.0 | averse.0 << 3) as usize] += 1;

        // 2. Platform choice: logit weights from the month's tables, split into
        // the part at merchants with a usable wallet and the part needing set-up.
        let primary = tr.primary();
        let main = s.main();
        let base = &t.base[cell][band];
        let consider = &t.consider[tr.consider_bits()];
        let kmask = &t.pay.kmask[averse.0 as usize];
        let kexp = t.kexp[tr.kappa()];
        let hexp = t.hexp[s.habit()];
        // Untracked platforms share the key without a wallet last used.
        let untracked = pay_key(held, primary, 0) & (N_KEYS - 1);
        let mut keys = [0usize; N_PLATFORMS];
        let mut wu = [0f32; LANES];
        let mut ws = [0f32; LANES];
        let mut w = [0f32; LANES];
        // One pass per platform, each value used as soon as it is looked up
        // (scalar stores followed by wide loads would stall store forwarding).
        for p in 0..N_PLATFORMS {
            let k = if TRACKED_MASK >> p & 1 != 0 { pay_key(held, primary, s.last_wallet(p)) & (N_KEYS - 1) } else { untracked };
            keys[p] = k;
            let habit = if p == main { hexp } else { 1.0 };
            let m = base[p] * consider[p] * habit;
            wu[p] = m * t.pay.usable[p][k];
            ws[p] = m * t.pay.setup[p][k] * kexp * kmask[p];
            w[p] = wu[p] + ws[p];
        }
        let total = tree_sum(&w);
        if !(total > 0.0 && total.is_finite()) {
            return s.with_held(held);
        }

        // 3. Expected orders (Poisson splitting), accumulated by payment key.
        let scale = t.lambda[lambda_slot(band, tr.freq())] / total;
        let mut orders = [0f32; LANES];
        for p in 0..LANES {
            orders[p] = w[p] * scale;
        }
        for (p, row) in acc.key_orders.iter_mut().enumerate() {
            row[keys[p] & (N_KEYS - 1)] += wu[p] * scale;
        }

        // 4. Sampled updates. A consumer buys on p this month if the first
        // arrival of a Poisson process with rate orders[p] comes before the
        // month's end. Bits: r0 = main platform (16) | arrivals of
        // platforms 0-3 (4 x 12); r1 = arrivals of platforms 4-5 (2 x 12) |
        // wallet draws for Taobao/Tmall and JD (2 x 16); r2 = wallet draws
        // where nothing held was usable elsewhere.
        let r0 = self.streams.bits(i, self.month, Purpose::Choice, 0);
        let r1 = self.streams.bits(i, self.month, Purpose::Choice, 1);
        let mut bought = 0usize;
        for p in 0..N_PLATFORMS {
            let e = t.exp.draw(if p < 4 { r0 >> (16 + 12 * p) } else { r1 >> (12 * (p - 4)) });
            bought |= ((orders[p] > e) as usize) << p;
        }
        let spread = &SPREAD[bought];
        acc.buyers[0] += spread[0];
        acc.buyers[1] += spread[1];
        if held.is_wechat_only() {
            acc.wechat_only_taobao_buyers += (bought >> TAOBAO & 1) as u32;
        }

        // The wallet of the month's last order on the tracked platforms
        // (branch-free: computed always, kept where the consumer bought).
        for (p, v) in [(TAOBAO, unit16(r1 >> 24)), (JD, unit16(r1 >> 40))] {
            let split = &t.pay.split[p][keys[p] & (N_KEYS - 1)];
            let code = 1 + (v >= split[0]) as usize + (v >= split[0] + split[1]) as usize;
            let keep = s.last_wallet(p);
            s = s.with_last_wallet(p, if bought >> p & 1 != 0 { code } else { keep });
        }
        // Where an order met no usable wallet (rare): the month's last order
        // fell at such a merchant with probability ws / (wu + ws); then the
        // consumer sets up that merchant's wallet.
        if ws.iter().any(|&x| x > 0.0) {
            for p in 0..N_PLATFORMS {
                acc.setup_orders[p] += ws[p] * scale;
            }
            let r2 = self.streams.bits(i, self.month, Purpose::Choice, 2);
            for p in 0..N_PLATFORMS {
                if bought >> p & 1 == 0 || ws[p] <= 0.0 {
                    continue;
                }
                let v = match p {
                    TAOBAO => unit16(r1 >> 24),
                    JD => unit16(r1 >> 40),
                    _ => unit16(r2 >> (16 * (p % 4))),
                };
                let at_setup = ws[p] / (wu[p] + ws[p]);
                let code = if v < at_setup {
                    let sw = Wallet::from_index(t.pay.setup_wallet[p]);
                    if !held.contains(sw) {
                        held = held.with(sw);
                        acc.setups[sw.index()] += 1;
                    }
                    sw.index() + 1
                } else {
                    let x = (v - at_setup) / (1.0 - at_setup);
                    let split = &t.pay.split[p][keys[p] & (N_KEYS - 1)];
                    1 + (x >= split[0]) as usize + (x >= split[0] + split[1]) as usize
                };
                if TRACKED_MASK >> p & 1 != 0 {
                    s = s.with_last_wallet(p, code);
                }
            }
        }

        // Main platform: one draw proportional to this month's expected spend.
        let spend: [f32; N_PLATFORMS] = std::array::from_fn(|p| orders[p] * t.aov[p][band]);
        let new_main = choose_main(&spend, unit16(r0), main);
        let habit_level = if new_main == main { t.habit_same[s.habit()] } else { t.habit_switch };
        s.with_main(new_main, habit_level as usize).with_held(held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Setup;
    use crate::pipeline;
    use crate::scenario::RunOverrides;
    use std::path::Path;

    /// The default scenario's setup at one agent per 100,000 shoppers.
    pub(crate) fn default_setup() -> Setup {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let o = RunOverrides { scale: Some(100_000.0), replications: Some(1), seed: None };
        let (data, scenario, fitted) =
            pipeline::validate(&root.join("scenarios/wechat_pay_on_taobao.toml"), &root.join("data"), &o).expect("default scenario loads");
        Setup::new(&scenario, &data, fitted).expect("setup")
    }

    /// A run builds the payment tables once for each distinct regime, and
    /// every month finds its regime's tables there (not rebuilt), with the
    /// values a fresh build gives.
    #[test]
    fn payment_tables_are_built_once_per_regime_and_found_every_month() {
        let setup = default_setup();
        let months: Vec<&Regime> = std::iter::once(&setup.spinup_regime).chain(setup.timelines.iter().flatten()).collect();
        // Before and after WeChat Pay is accepted on Taobao/Tmall, and far
        // fewer than one per month.
        assert!(setup.pay.len() >= 2 && setup.pay.len() < months.len() / 4, "{} of {}", setup.pay.len(), months.len());
        for regime in months {
            let cached = PayTables::lookup(&setup.pay, regime);
            assert!(setup.pay.iter().any(|(_, t)| Arc::ptr_eq(t, &cached)), "a month's tables come from the cache");
            let fresh = PayTables::new(regime);
            assert_eq!(cached.usable, fresh.usable);
            assert_eq!(cached.setup, fresh.setup);
            assert_eq!(cached.split, fresh.split);
            assert_eq!(cached.setup_wallet, fresh.setup_wallet);
            assert_eq!(cached.kmask, fresh.kmask);
            assert_eq!(cached.fast_held, fresh.fast_held);
            assert_eq!(cached.cuts, fresh.cuts);
        }
    }
}
