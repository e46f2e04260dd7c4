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

use crate::choice::{N_KEYS, PayEntry, pay_key, pay_table, setup_wallet};
use crate::observe::Sums;
use crate::params::{ModelParams, N_BANDS, N_FREQ, N_KAPPA};
use crate::platform::{N_PLATFORMS, Platform};
use crate::population::{HABIT_LEVELS, State, Traits};
use crate::rng::{Purpose, Streams, unit, unit16};
use crate::scenario::Regime;
use crate::wallet::{N_WALLETS, Wallet};
use rayon::prelude::*;
use std::ops::Range;

/// Consumers per chunk: large enough to amortise the per-chunk work, small
/// enough to balance load across threads.
pub const CHUNK: u32 = 16_384;

const TAOBAO: usize = Platform::Taobao as usize;

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

/// Everything the per-consumer step looks up, built once per month and arm.
pub struct MonthTables {
    /// exp(ASC + segment offset + promotion + b_social ln s~), by cell and band.
    pub base: Vec<[[f32; N_PLATFORMS]; N_BANDS]>,
    pub pay: Box<[[PayEntry; N_KEYS]; N_PLATFORMS]>,
    pub setup_wallet: [usize; N_PLATFORMS],
    /// exp(-kappa) of each friction level.
    pub kexp: [f32; N_KAPPA],
    /// exp(b_habit * habit) of each habit level.
    pub hexp: [f32; HABIT_LEVELS],
    pub habit_same: [u8; HABIT_LEVELS],
    pub habit_switch: u8,
    /// Expected orders per month by band and frequency class.
    pub lambda: [[f32; N_FREQ]; N_BANDS],
    /// Average order value (CNY) by band and platform.
    pub aov: [[f32; N_PLATFORMS]; N_BANDS],
    /// Monthly adoption probability of each wallet by cell.
    pub adopt: Vec<[f32; N_WALLETS]>,
}

impl MonthTables {
    pub fn build(regime: &Regime, params: &ModelParams, rural: &[bool], lambda_bar: f64, prev: &Previous) -> MonthTables {
        let b = &regime.behaviour;
        let pop = &params.population;
        let national = national_shares(&prev.cell_orders);
        let base = rural
            .iter()
            .enumerate()
            .map(|(c, &is_rural)| {
                let cell_total: f64 = prev.cell_orders[c].iter().sum();
                let mut out = [[0f32; N_PLATFORMS]; N_BANDS];
                for (band, row) in out.iter_mut().enumerate() {
                    for p in 0..N_PLATFORMS {
                        let shrunk = (prev.cell_orders[c][p] + b.social_prior_orders * national[p]) / (cell_total + b.social_prior_orders);
                        let social = if b.b_social > 0.0 { b.b_social * shrunk.max(1e-12).ln() } else { 0.0 };
                        let v = params.fitted.asc[p] + b.offsets[is_rural as usize][band][p] + regime.promotion[p] + social;
                        row[p] = v.exp() as f32;
                    }
                }
                out
            })
            .collect();
        let mut pay = Box::new([[PayEntry::default(); N_KEYS]; N_PLATFORMS]);
        let mut setup = [0usize; N_PLATFORMS];
        for p in 0..N_PLATFORMS {
            pay[p] = pay_table(regime, p);
            setup[p] = setup_wallet(regime, p).index();
        }
        let kappa = b.kappa_levels();
        let carry = b.habit_carryover;
        let top = (HABIT_LEVELS - 1) as f64;
        let mut hexp = [0f32; HABIT_LEVELS];
        let mut habit_same = [0u8; HABIT_LEVELS];
        for l in 0..HABIT_LEVELS {
            let h = l as f64 / top;
            hexp[l] = (b.b_habit * h).exp() as f32;
            habit_same[l] = (top * (carry * h + 1.0 - carry)).round() as u8;
        }
        let freq = pop.frequency_multipliers();
        let mut lambda = [[0f32; N_FREQ]; N_BANDS];
        let mut aov = [[0f32; N_PLATFORMS]; N_BANDS];
        for band in 0..N_BANDS {
            for f in 0..N_FREQ {
                lambda[band][f] = (lambda_bar * freq[f]) as f32;
            }
            for p in 0..N_PLATFORMS {
                aov[band][p] = (pop.aov[p] * pop.aov_band_multiplier[band]) as f32;
            }
        }
        let adopt = prev
            .holding
            .iter()
            .zip(&prev.potential)
            .map(|(h, m)| {
                let mut out = [0f32; N_WALLETS];
                for w in 0..N_WALLETS {
                    let f = if m[w] > 0.0 { (h[w] / m[w]).min(1.0) } else { 0.0 };
                    out[w] = (1.0 - (-(b.bass_p[w] + b.bass_q[w] * f) / 12.0).exp()) as f32;
                }
                out
            })
            .collect();
        MonthTables {
            base,
            pay,
            setup_wallet: setup,
            kexp: kappa.map(|k| (-k).exp() as f32),
            hexp,
            habit_same,
            habit_switch: (top * (1.0 - carry)).round() as u8,
            lambda,
            aov,
            adopt,
        }
    }
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
        let partials: Vec<(usize, [Sums; N_BANDS])> = pieces.into_par_iter().map(|(c, first, chunk)| (c, self.chunk(c, first, chunk))).collect();
        let mut out = vec![[Sums::default(); N_BANDS]; self.cells.len()];
        for (c, sums) in partials {
            for b in 0..N_BANDS {
                out[c][b].add(&sums[b]);
            }
        }
        out
    }

    fn chunk(&self, cell: usize, first: u32, states: &mut [State]) -> [Sums; N_BANDS] {
        let t = self.tables;
        let mut sums = [Sums::default(); N_BANDS];
        let mut key_orders = vec![[[0f64; N_KEYS]; N_PLATFORMS]; N_BANDS];
        let mut key_gmv = vec![[[0f64; N_KEYS]; N_PLATFORMS]; N_BANDS];
        for (j, slot) in states.iter_mut().enumerate() {
            let i = first + j as u32;
            let tr = self.traits[i as usize];
            *slot = self.consumer(i, tr, *slot, cell, &mut sums[tr.band()], &mut key_orders[tr.band()], &mut key_gmv[tr.band()]);
        }
        for band in 0..N_BANDS {
            for p in 0..N_PLATFORMS {
                for key in 0..N_KEYS {
                    let (o, g) = (key_orders[band][p][key], key_gmv[band][p][key]);
                    if o == 0.0 && g == 0.0 {
                        continue;
                    }
                    let split = t.pay[p][key].split;
                    for m in 0..N_WALLETS {
                        sums[band].pay_orders[p][m] += o * split[m] as f64;
                        sums[band].pay_gmv[p][m] += g * split[m] as f64;
                    }
                }
            }
        }
        sums
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn consumer(
        &self,
        i: u32,
        tr: Traits,
        mut s: State,
        cell: usize,
        sums: &mut Sums,
        key_orders: &mut [[f64; N_KEYS]; N_PLATFORMS],
        key_gmv: &mut [[f64; N_KEYS]; N_PLATFORMS],
    ) -> State {
        let t = self.tables;
        let band = tr.band();
        let averse = tr.averse();
        let mut held = s.held();

        // 1. Wallet adoption.
        for w in [Wallet::Alipay, Wallet::WechatPay] {
            let p_adopt = t.adopt[cell][w.index()];
            if !held.contains(w) && !averse.contains(w) && p_adopt > 0.0 {
                let u = unit(self.streams.block(i, self.month, Purpose::Adoption, w.index() as u32)[0]);
                if u < p_adopt as f64 {
                    held = held.with(w);
                    sums.adoptions[w.index()] += 1.0;
                }
            }
        }
        sums.consumers += 1.0;
        for w in 0..N_WALLETS {
            let has = held.contains(Wallet::from_index(w));
            sums.holding[w] += has as u32 as f64;
            sums.potential[w] += (has || !averse.contains(Wallet::from_index(w))) as u32 as f64;
        }
        sums.dual += held.is_dual() as u32 as f64;
        let wechat_only = held.is_wechat_only();
        sums.wechat_only += wechat_only as u32 as f64;

        // 2. Platform choice weights.
        let primary = tr.primary();
        let main = s.main();
        let kexp = t.kexp[tr.kappa()];
        let base = &t.base[cell][band];
        let mut weight = [0f32; N_PLATFORMS];
        let mut keys = [0usize; N_PLATFORMS];
        let mut usable_frac = [1f32; N_PLATFORMS];
        let mut total = 0f32;
        for p in 0..N_PLATFORMS {
            if !tr.considers(p) {
                continue;
            }
            let key = pay_key(held, primary, s.last_wallet(p));
            let e = &t.pay[p][key];
            let k = if averse.contains(Wallet::from_index(t.setup_wallet[p])) { 0.0 } else { kexp };
            let g = e.usable + e.setup * k;
            let mut x = base[p] * g;
            if p == main {
                x *= t.hexp[s.habit()];
            }
            weight[p] = x;
            keys[p] = key;
            if g > 0.0 {
                usable_frac[p] = e.usable / g;
            }
            total += x;
        }
        if total <= 0.0 || !total.is_finite() {
            return s.with_held(held);
        }

        // 3. Expected outcomes, and 4. sampled updates of the wallet last used.
        let orders_per_weight = t.lambda[band][tr.freq()] / total;
        let bits = self.streams.block(i, self.month, Purpose::Choice, 0);
        let mut spend = [0f32; N_PLATFORMS];
        let mut spend_total = 0f32;
        let mut needs_setup = false;
        for p in 0..N_PLATFORMS {
            if weight[p] <= 0.0 {
                continue;
            }
            let o = weight[p] * orders_per_weight;
            let g = o * t.aov[band][p];
            spend[p] = g;
            spend_total += g;
            sums.orders[p] += o as f64;
            sums.gmv[p] += g as f64;
            let uf = usable_frac[p];
            key_orders[p][keys[p]] += (o * uf) as f64;
            key_gmv[p][keys[p]] += (g * uf) as f64;
            if uf < 1.0 {
                let sw = t.setup_wallet[p];
                sums.pay_orders[p][sw] += (o * (1.0 - uf)) as f64;
                sums.pay_gmv[p][sw] += (g * (1.0 - uf)) as f64;
                needs_setup = true;
            }
            let reach = 1.0 - (-o).exp();
            sums.reach[p] += reach as f64;
            if wechat_only && p == TAOBAO {
                sums.wechat_only_taobao_buyers += reach as f64;
            }
            let u = unit16(bits[1 + p / 2] >> (16 * (p % 2)));
            if u < reach && uf > 0.0 {
                let v = u / reach;
                let split = t.pay[p][keys[p]].split;
                let code = if v < split[0] {
                    1
                } else if v < split[0] + split[1] {
                    2
                } else {
                    3
                };
                s = s.with_last_wallet(p, code);
            }
        }

        // Set-up of the required wallet where nothing held was usable.
        if needs_setup {
            let sbits = self.streams.block(i, self.month, Purpose::SetUp, 0);
            for p in 0..N_PLATFORMS {
                if weight[p] <= 0.0 || usable_frac[p] >= 1.0 {
                    continue;
                }
                let o_setup = weight[p] * orders_per_weight * (1.0 - usable_frac[p]);
                let u = unit16(sbits[p / 2] >> (16 * (p % 2)));
                let sw = Wallet::from_index(t.setup_wallet[p]);
                if u < 1.0 - (-o_setup).exp() && !held.contains(sw) {
                    held = held.with(sw);
                    sums.setups[sw.index()] += 1.0;
                    s = s.with_last_wallet(p, sw.index() + 1);
                }
            }
        }

        // Main platform: one draw proportional to this month's expected spend.
        let target = unit(bits[0]) as f32 * spend_total;
        let mut acc = 0f32;
        let mut new_main = main;
        for p in 0..N_PLATFORMS {
            if spend[p] <= 0.0 {
                continue;
            }
            new_main = p;
            acc += spend[p];
            if target < acc {
                break;
            }
        }
        let habit = if new_main == main { t.habit_same[s.habit()] } else { t.habit_switch };
        s.with_main(new_main, habit as usize).with_held(held)
    }
}
