//! Typed model parameters, built from registry values (defaults plus scenario
//! overrides) and from the fitted values of the calibration.
//!
//! Model code reads these structs, never the registry's names, so a typo in a
//! name is caught once, when the values are resolved.

use crate::data::Calibration;
use crate::error::{Error, Location, Result};
use crate::platform::{N_PLATFORMS, Platform};
use crate::registry::Values;
use crate::wallet::N_WALLETS;
use serde::Serialize;

pub const N_BANDS: usize = 3;
pub const N_FREQ: usize = 4;
pub const N_KAPPA: usize = 16;

/// Income bands, low to high.
pub const BAND_LABELS: [&str; N_BANDS] = ["low", "middle", "high"];

/// Parameters that may change at a dated event (behaviour and tastes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Behaviour {
    pub theta: f64,
    pub kappa_median: f64,
    pub kappa_sigma: f64,
    pub b_primary: f64,
    pub b_stick: f64,
    pub b_cashier_default: f64,
    pub b_card: f64,
    pub b_habit: f64,
    pub habit_carryover: f64,
    pub b_social: f64,
    pub social_prior_orders: f64,
    /// Bass coefficients per year, by wallet (card: none).
    pub bass_p: [f64; N_WALLETS],
    pub bass_q: [f64; N_WALLETS],
    /// Segment utility offsets: `[rural][band][platform]`.
    pub offsets: [[[f64; N_PLATFORMS]; N_BANDS]; 2],
}

/// Parameters fixed over a run: they shape the population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationParams {
    pub averse_share: f64,
    pub wechat_only_rural_odds: f64,
    pub wechat_only_low_income_odds: f64,
    pub entry_rate: f64,
    pub rural_shopping_share: f64,
    pub income_sigma: f64,
    pub income_band_low_max: f64,
    pub income_band_high_min: f64,
    pub aov_band_multiplier: [f64; N_BANDS],
    pub order_frequency_sigma: f64,
    pub inclusion: [f64; N_PLATFORMS],
    pub spinup_months: u32,
    /// 2023 GMV, trillion CNY, and average order value, CNY, by platform.
    pub gmv: [f64; N_PLATFORMS],
    pub aov: [f64; N_PLATFORMS],
    /// Card holding share, 0-1 (set directly: cards have no dynamics here).
    pub card_holding: f64,
}

/// Calibration targets, as shares 0-1 (buyers in persons).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    pub gmv_share: [f64; N_PLATFORMS],
    pub holding_alipay: f64,
    pub holding_wechat_pay: f64,
    pub holding_card: f64,
    pub alipay_share_of_wallet_payments: f64,
    pub kuaishou_monthly_buyers: f64,
}

/// Values fitted by `shareshift calibrate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted {
    /// Alternative-specific constants (Other = 0).
    pub asc: [f64; N_PLATFORMS],
    /// Log-odds of being WeChat-Pay-only / Alipay-only at entry (urban, middle band).
    pub wechat_only_log_odds: f64,
    pub alipay_only_log_odds: f64,
    /// Log-odds that a dual holder's online primary wallet is Alipay.
    pub primary_alipay_log_odds: f64,
    /// Probability that Kuaishou is in a consideration set.
    pub inclusion_kuaishou: f64,
}

pub const FITTED_NAMES: [&str; 10] = [
    "asc_taobao",
    "asc_jd",
    "asc_pinduoduo",
    "asc_douyin",
    "asc_kuaishou",
    "asc_other",
    "wechat_only_log_odds",
    "alipay_only_log_odds",
    "primary_alipay_log_odds",
    "inclusion_kuaishou",
];

impl Fitted {
    pub fn from_calibration(c: &Calibration) -> Result<Fitted> {
        let mut asc = [0.0; N_PLATFORMS];
        for p in Platform::ALL {
            asc[p.index()] = c.get(&format!("asc_{}", p.id()))?;
        }
        let inclusion_kuaishou = c.get("inclusion_kuaishou")?;
        if !(0.0..=1.0).contains(&inclusion_kuaishou) {
            return Err(Error::input(
                Location::at(&c.path, None, "inclusion_kuaishou"),
                "a probability between 0 and 1",
                format!("{inclusion_kuaishou}"),
            ));
        }
        Ok(Fitted {
            asc,
            wechat_only_log_odds: c.get("wechat_only_log_odds")?,
            alipay_only_log_odds: c.get("alipay_only_log_odds")?,
            primary_alipay_log_odds: c.get("primary_alipay_log_odds")?,
            inclusion_kuaishou,
        })
    }

    pub fn named_values(&self) -> Vec<(&'static str, f64)> {
        let mut v: Vec<f64> = self.asc.to_vec();
        v.extend([self.wechat_only_log_odds, self.alipay_only_log_odds, self.primary_alipay_log_odds, self.inclusion_kuaishou]);
        FITTED_NAMES.iter().copied().zip(v).collect()
    }
}

/// Every registry name the model reads; the registry must define them all.
pub const REQUIRED_NAMES: &[&str] = &[
    "theta",
    "kappa_median",
    "kappa_sigma",
    "averse_share",
    "wechat_only_rural_odds",
    "wechat_only_low_income_odds",
    "b_primary",
    "b_stick",
    "b_cashier_default",
    "b_card",
    "b_habit",
    "habit_carryover",
    "b_social",
    "social_prior_orders",
    "bass_p_alipay",
    "bass_q_alipay",
    "bass_p_wechat_pay",
    "bass_q_wechat_pay",
    "entry_rate",
    "rural_shopping_share",
    "income_sigma",
    "income_band_low_max",
    "income_band_high_min",
    "aov_low_income_multiplier",
    "aov_high_income_multiplier",
    "order_frequency_sigma",
    "inclusion_taobao",
    "inclusion_jd",
    "inclusion_pinduoduo",
    "inclusion_douyin",
    "offset_rural_pinduoduo",
    "offset_rural_kuaishou",
    "offset_rural_jd",
    "offset_low_income_pinduoduo",
    "offset_high_income_jd",
    "offset_high_income_taobao",
    "spinup_months",
    "target_holding_alipay",
    "target_holding_wechat_pay",
    "target_holding_card",
    "target_alipay_share_of_wallet_payments",
    "target_kuaishou_monthly_buyers",
];

/// The names of parameters that may change at a dated event.
pub const BEHAVIOUR_NAMES: &[&str] = &[
    "theta",
    "kappa_median",
    "kappa_sigma",
    "b_primary",
    "b_stick",
    "b_cashier_default",
    "b_card",
    "b_habit",
    "habit_carryover",
    "b_social",
    "social_prior_orders",
    "bass_p_alipay",
    "bass_q_alipay",
    "bass_p_wechat_pay",
    "bass_q_wechat_pay",
    "offset_rural_pinduoduo",
    "offset_rural_kuaishou",
    "offset_rural_jd",
    "offset_low_income_pinduoduo",
    "offset_high_income_jd",
    "offset_high_income_taobao",
];

/// Checks that the registry defines every name the model reads.
pub fn check_registry_complete(values: &Values, parameters_file: &std::path::Path) -> Result<()> {
    let mut needed: Vec<String> = REQUIRED_NAMES.iter().map(|s| s.to_string()).collect();
    for p in Platform::ALL {
        needed.push(format!("gmv_{}", p.id()));
        needed.push(format!("aov_{}", p.id()));
    }
    for name in needed {
        if !values.contains(&name) {
            return Err(Error::input(Location::at(parameters_file, None, "name"), format!("a row for `{name}`"), "none"));
        }
    }
    Ok(())
}

impl Behaviour {
    pub fn from_values(v: &Values) -> Behaviour {
        let mut offsets = [[[0.0; N_PLATFORMS]; N_BANDS]; 2];
        for band in 0..N_BANDS {
            offsets[1][band][Platform::Pinduoduo.index()] += v.get("offset_rural_pinduoduo");
            offsets[1][band][Platform::Kuaishou.index()] += v.get("offset_rural_kuaishou");
            offsets[1][band][Platform::Jd.index()] += v.get("offset_rural_jd");
        }
        for rural in 0..2 {
            offsets[rural][0][Platform::Pinduoduo.index()] += v.get("offset_low_income_pinduoduo");
            offsets[rural][2][Platform::Jd.index()] += v.get("offset_high_income_jd");
            offsets[rural][2][Platform::Taobao.index()] += v.get("offset_high_income_taobao");
        }
        Behaviour {
            theta: v.get("theta"),
            kappa_median: v.get("kappa_median"),
            kappa_sigma: v.get("kappa_sigma"),
            b_primary: v.get("b_primary"),
            b_stick: v.get("b_stick"),
            b_cashier_default: v.get("b_cashier_default"),
            b_card: v.get("b_card"),
            b_habit: v.get("b_habit"),
            habit_carryover: v.get("habit_carryover"),
            b_social: v.get("b_social"),
            social_prior_orders: v.get("social_prior_orders"),
            bass_p: [v.get("bass_p_alipay"), v.get("bass_p_wechat_pay"), 0.0],
            bass_q: [v.get("bass_q_alipay"), v.get("bass_q_wechat_pay"), 0.0],
            offsets,
        }
    }

    /// Set-up friction of each of the 16 quantised levels: a log-normal with
    /// the given median and sigma, evaluated at the level's quantile midpoint.
    pub fn kappa_levels(&self) -> [f64; N_KAPPA] {
        let mut out = [0.0; N_KAPPA];
        for (k, slot) in out.iter_mut().enumerate() {
            let z = crate::stats::normal_quantile((k as f64 + 0.5) / N_KAPPA as f64);
            *slot = self.kappa_median * (self.kappa_sigma * z).exp();
        }
        out
    }
}

impl PopulationParams {
    pub fn from_values(v: &Values, fitted: &Fitted) -> PopulationParams {
        let mut gmv = [0.0; N_PLATFORMS];
        let mut aov = [0.0; N_PLATFORMS];
        for p in Platform::ALL {
            gmv[p.index()] = v.get(&format!("gmv_{}", p.id()));
            aov[p.index()] = v.get(&format!("aov_{}", p.id()));
        }
        let mut inclusion = [1.0; N_PLATFORMS];
        inclusion[Platform::Taobao.index()] = v.get("inclusion_taobao");
        inclusion[Platform::Jd.index()] = v.get("inclusion_jd");
        inclusion[Platform::Pinduoduo.index()] = v.get("inclusion_pinduoduo");
        inclusion[Platform::Douyin.index()] = v.get("inclusion_douyin");
        inclusion[Platform::Kuaishou.index()] = fitted.inclusion_kuaishou;
        PopulationParams {
            averse_share: v.get("averse_share"),
            wechat_only_rural_odds: v.get("wechat_only_rural_odds"),
            wechat_only_low_income_odds: v.get("wechat_only_low_income_odds"),
            entry_rate: v.get("entry_rate"),
            rural_shopping_share: v.get("rural_shopping_share"),
            income_sigma: v.get("income_sigma"),
            income_band_low_max: v.get("income_band_low_max"),
            income_band_high_min: v.get("income_band_high_min"),
            aov_band_multiplier: [v.get("aov_low_income_multiplier"), 1.0, v.get("aov_high_income_multiplier")],
            order_frequency_sigma: v.get("order_frequency_sigma"),
            inclusion,
            spinup_months: v.get("spinup_months").round() as u32,
            gmv,
            aov,
            card_holding: v.get("target_holding_card") / 100.0,
        }
    }

    /// Relative order frequency of the four classes: quartile midpoints of a
    /// log-normal, normalised to mean 1.
    pub fn frequency_multipliers(&self) -> [f64; N_FREQ] {
        let mut m = [0.0; N_FREQ];
        for (k, slot) in m.iter_mut().enumerate() {
            let z = crate::stats::normal_quantile((k as f64 + 0.5) / N_FREQ as f64);
            *slot = (self.order_frequency_sigma * z).exp();
        }
        let mean = m.iter().sum::<f64>() / N_FREQ as f64;
        m.map(|x| x / mean)
    }
}

impl Targets {
    pub fn from_values(v: &Values, gmv: &[f64; N_PLATFORMS]) -> Targets {
        let total: f64 = gmv.iter().sum();
        Targets {
            gmv_share: gmv.map(|g| g / total),
            holding_alipay: v.get("target_holding_alipay") / 100.0,
            holding_wechat_pay: v.get("target_holding_wechat_pay") / 100.0,
            holding_card: v.get("target_holding_card") / 100.0,
            alipay_share_of_wallet_payments: v.get("target_alipay_share_of_wallet_payments") / 100.0,
            kuaishou_monthly_buyers: v.get("target_kuaishou_monthly_buyers") * 1e6,
        }
    }
}

/// Everything the model needs besides the geography and the scenario timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelParams {
    pub behaviour: Behaviour,
    pub population: PopulationParams,
    pub targets: Targets,
    pub fitted: Fitted,
}

impl ModelParams {
    pub fn new(values: &Values, fitted: Fitted) -> ModelParams {
        let population = PopulationParams::from_values(values, &fitted);
        let targets = Targets::from_values(values, &population.gmv);
        ModelParams { behaviour: Behaviour::from_values(values), population, targets, fitted }
    }
}
