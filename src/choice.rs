//! Pure choice rules: the payment nest and the platform logit.
//!
//! Nothing here touches consumers. The monthly step tabulates these rules once
//! per month for every combination of the state that matters (wallets held,
//! primary wallet, wallet used last on the platform), so the per-consumer
//! work is table look-ups, a sum and a draw.

use crate::params::Behaviour;
use crate::platform::N_PLATFORMS;
use crate::scenario::Regime;
use crate::wallet::{N_WALLETS, Wallet, WalletSet};

/// Number of payment keys: held (3 bits) | primary (2 bits) | last used (2 bits).
pub const N_KEYS: usize = 128;

#[inline(always)]
pub fn pay_key(held: WalletSet, primary: usize, last: usize) -> usize {
    held.0 as usize | primary << 3 | last << 5
}

/// The payment nest of one platform for one payment key.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PayEntry {
    /// Sum over merchant types with a usable held wallet of
    /// share(type) * exp(theta * IV(type)).
    pub usable: f32,
    /// Same, over merchant types where nothing held is usable, for paying with
    /// the set-up wallet; the consumer's exp(-kappa) multiplies it.
    pub setup: f32,
    /// Wallet shares of orders at merchants with a usable wallet.
    pub split: [f32; N_WALLETS],
}

/// Utility of paying with `m` on a platform (model design, step 2):
/// b_primary [m = primary] + b_stick [m = last used here] + cashier default
/// bonus + card constant.
pub fn payment_utility(m: Wallet, primary: usize, last: usize, cashier_default: Option<Wallet>, b: &Behaviour) -> f64 {
    let mut u = 0.0;
    if m.index() == primary {
        u += b.b_primary;
    }
    if last == m.index() + 1 {
        u += b.b_stick;
    }
    if cashier_default == Some(m) {
        u += b.b_cashier_default;
    }
    if m == Wallet::Card {
        u += b.b_card;
    }
    u
}

/// The wallet a consumer with nothing usable sets up on platform `p`: the
/// cashier default if accepted, else WeChat Pay, Alipay, then card.
pub fn setup_wallet(regime: &Regime, p: usize) -> Wallet {
    let offered = |w: Wallet| regime.acceptance[p][w.index()] > 0.0;
    match regime.cashier_default[p] {
        Some(w) if offered(w) => w,
        _ => [Wallet::WechatPay, Wallet::Alipay, Wallet::Card].into_iter().find(|&w| offered(w)).unwrap_or(Wallet::WechatPay),
    }
}

/// Wallets of `held` usable at a merchant offering `offered` on platform `p`
/// (a wallet that requires another is usable only if that one is held).
pub fn usable(held: WalletSet, offered: WalletSet, regime: &Regime, p: usize) -> WalletSet {
    let mut out = WalletSet::EMPTY;
    for m in held.intersect(offered).iter() {
        match regime.requires[p][m.index()] {
            Some(r) if !held.contains(r) => {}
            _ => out = out.with(m),
        }
    }
    out
}

/// Tabulates the payment nest of platform `p` for every key.
///
/// Merchants are of 2^3 types by the wallets they offer; a wallet being phased
/// in is offered by a share of merchants (GMV-weighted), independently of the
/// others. The platform-level weight mixes merchant types at the level of
/// exp(theta * IV), so the set-up friction stays outside theta during a
/// phase-in (docs/MODEL.md, deviations).
pub fn pay_table(regime: &Regime, p: usize) -> [PayEntry; N_KEYS] {
    let b = &regime.behaviour;
    let setup = setup_wallet(regime, p);
    let mut out = [PayEntry::default(); N_KEYS];
    for held_bits in 0..8u8 {
        let held = WalletSet(held_bits);
        for primary in 0..N_WALLETS {
            for last in 0..=N_WALLETS {
                let key = pay_key(held, primary, last);
                let mut e = PayEntry::default();
                let mut split = [0.0f64; N_WALLETS];
                let (mut usable_w, mut setup_w) = (0.0f64, 0.0f64);
                for offered_bits in 0..8u8 {
                    let offered = WalletSet(offered_bits);
                    let share = merchant_share(regime, p, offered);
                    if share <= 0.0 {
                        continue;
                    }
                    let u = usable(held, offered, regime, p);
                    if u.is_empty() {
                        if offered.contains(setup) {
                            let us = payment_utility(setup, primary, last, regime.cashier_default[p], b);
                            setup_w += share * (b.theta * us).exp();
                        }
                        continue;
                    }
                    let utils: Vec<(Wallet, f64)> =
                        u.iter().map(|m| (m, payment_utility(m, primary, last, regime.cashier_default[p], b))).collect();
                    let top = utils.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = utils.iter().map(|x| (x.1 - top).exp()).sum();
                    // exp(theta * IV) with IV = top + ln(sum), computed without overflow.
                    let weight = share * (b.theta * (top + sum.ln())).exp();
                    usable_w += weight;
                    for (m, um) in &utils {
                        split[m.index()] += weight * (um - top).exp() / sum;
                    }
                }
                e.usable = usable_w as f32;
                e.setup = setup_w as f32;
                if usable_w > 0.0 {
                    e.split = split.map(|x| (x / usable_w) as f32);
                }
                out[key] = e;
            }
        }
    }
    out
}

/// GMV share of platform `p`'s merchants that offer exactly `offered`.
fn merchant_share(regime: &Regime, p: usize, offered: WalletSet) -> f64 {
    Wallet::ALL
        .iter()
        .map(|&w| {
            let phi = regime.acceptance[p][w.index()].clamp(0.0, 1.0);
            if offered.contains(w) { phi } else { 1.0 - phi }
        })
        .product()
}

/// Multinomial logit probabilities from utilities, by log-sum-exp (never NaN
/// for finite inputs; -inf utilities get probability 0).
pub fn logit(v: &[f64; N_PLATFORMS]) -> [f64; N_PLATFORMS] {
    let top = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return [1.0 / N_PLATFORMS as f64; N_PLATFORMS];
    }
    let e = v.map(|x| (x - top).exp());
    let s: f64 = e.iter().sum();
    e.map(|x| x / s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Values;

    fn regime(theta: f64) -> Regime {
        let mut values = Values::default_for_tests();
        values.set("theta", theta);
        Regime {
            acceptance: [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0; 3], [1.0; 3], [1.0; 3], [1.0; 3]],
            requires: {
                let mut r = [[None; 3]; 6];
                r[0][2] = Some(Wallet::Alipay);
                r
            },
            cashier_default: [Some(Wallet::Alipay), None, None, None, None, None],
            promotion: [0.0; 6],
            behaviour: Behaviour::from_values(&values),
        }
    }

    #[test]
    fn wechat_only_has_nothing_usable_on_taobao_until_it_opens() {
        let mut r = regime(0.5);
        let wechat_card = WalletSet::of(&[Wallet::WechatPay, Wallet::Card]);
        let key = pay_key(wechat_card, Wallet::WechatPay.index(), 0);
        let closed = pay_table(&r, 0)[key];
        assert_eq!(closed.usable, 0.0, "a card on Taobao needs Alipay");
        assert!(closed.setup > 0.0);
        r.acceptance[0][1] = 0.5;
        let half = pay_table(&r, 0)[key];
        assert!(half.usable > 0.0 && half.setup > 0.0);
        assert!((half.split[1] - 1.0).abs() < 1e-6, "pays with WeChat Pay where offered: {:?}", half.split);
        r.acceptance[0][1] = 1.0;
        let open = pay_table(&r, 0)[key];
        assert_eq!(open.setup, 0.0);
    }

    #[test]
    fn payment_split_is_the_logit_of_payment_utilities() {
        let r = regime(0.3);
        let both = WalletSet::of(&[Wallet::Alipay, Wallet::WechatPay]);
        // On Pinduoduo, WeChat-primary, last paid with Alipay.
        let e = pay_table(&r, 2)[pay_key(both, 1, 1)];
        let b = &r.behaviour;
        let (ua, uw) = (b.b_stick, b.b_primary);
        let pa = ua.exp() / (ua.exp() + uw.exp());
        assert!((e.split[0] as f64 - pa).abs() < 1e-6);
        let iv = (ua.exp() + uw.exp()).ln();
        assert!((e.usable as f64 - (0.3 * iv).exp()).abs() < 1e-5);
    }

    #[test]
    fn logit_is_stable_for_extreme_utilities() {
        let p = logit(&[1000.0, 0.0, -1000.0, f64::NEG_INFINITY, 0.0, 0.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.iter().all(|x| x.is_finite()));
        assert!((p[0] - 1.0).abs() < 1e-12);
    }
}
