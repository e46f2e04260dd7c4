//! Region cells (31 provinces x urban/rural) and their online shoppers over
//! time, derived from the sourced figures in `data/`.
//!
//! The derivation, step by step (each step is documented in docs/MODEL.md):
//! 1. Province residents and urbanisation are raked to the NBS year-end 2023
//!    urban and rural totals.
//! 2. Internet users: urban and rural residents times the urban (derived) and
//!    rural (CNNIC) penetration, scaled to CNNIC's national total.
//! 3. Online shoppers: rural netizens times the rural shopping share; the
//!    urban share is solved so the national total matches CNNIC's 915 m.
//! 4. Later months: a share of the gap between internet users and shoppers
//!    starts shopping online each month, so shoppers never exceed netizens.

use crate::calendar::Month;
use crate::data::DataSet;
use crate::error::{Error, Location, Result};
use crate::params::{N_BANDS, PopulationParams};
use crate::stats::normal_cdf;
use serde::Serialize;

/// The month the shopper stock of the data describes (CNNIC, Dec 2023).
pub fn anchor_month() -> Month {
    Month::new(2023, 12).unwrap_or_else(|| unreachable!("a valid constant month"))
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub province: usize,
    pub rural: bool,
    pub residents: f64,
    pub internet_users_2023: f64,
    pub internet_users_2024: f64,
    pub shoppers_2023: f64,
    /// Mean per-capita disposable income, CNY per year (2023 prices).
    pub income: f64,
    pub band_shares: [f64; N_BANDS],
}

#[derive(Debug, Clone, Serialize)]
pub struct Geography {
    pub province_names: Vec<String>,
    pub province_codes: Vec<u32>,
    pub cells: Vec<Cell>,
}

impl Geography {
    pub fn build(data: &DataSet, pop: &PopulationParams) -> Result<Geography> {
        let n = &data.national;
        let total_urban = n.get("population_urban", "2023-12")? * 1e6;
        let total_rural = n.get("population_rural", "2023-12")? * 1e6;
        let pen_urban = n.get("internet_penetration_urban", "2023-12")? / 100.0;
        let pen_rural = n.get("internet_penetration_rural", "2023-12")? / 100.0;
        let users_2023 = n.get("internet_users", "2023-12")? * 1e6;
        let users_2024 = n.get("internet_users", "2024-12")? * 1e6;
        let shoppers_2023 = n.get("online_shoppers", "2023-12")? * 1e6;
        let inc_nat = n.get("income_per_capita", "2022")?;
        let inc_urban = n.get("income_per_capita_urban", "2022")?;
        let inc_rural = n.get("income_per_capita_rural", "2022")?;
        let uprate = n.get("income_per_capita", "2023")? / inc_nat;
        let (r_u, r_r) = (inc_urban / inc_nat, inc_rural / inc_nat);

        let urban: Vec<f64> = data.provinces.iter().map(|p| p.population * p.urbanisation).collect();
        let rural: Vec<f64> = data.provinces.iter().map(|p| p.population * (1.0 - p.urbanisation)).collect();
        let (su, sr) = (urban.iter().sum::<f64>(), rural.iter().sum::<f64>());
        let mut cells = Vec::with_capacity(2 * data.provinces.len());
        for (i, p) in data.provinces.iter().enumerate() {
            let denom = p.urbanisation * r_u + (1.0 - p.urbanisation) * r_r;
            for is_rural in [false, true] {
                let residents = if is_rural { rural[i] * total_rural / sr.max(1.0) } else { urban[i] * total_urban / su.max(1.0) };
                let pen = if is_rural { pen_rural } else { pen_urban };
                let income = p.income_2022 * uprate * if is_rural { r_r } else { r_u } / denom;
                cells.push(Cell {
                    province: i,
                    rural: is_rural,
                    residents,
                    internet_users_2023: residents * pen,
                    internet_users_2024: 0.0,
                    shoppers_2023: 0.0,
                    income,
                    band_shares: band_shares(income, pop.income_sigma, pop.income_band_low_max, pop.income_band_high_min),
                });
            }
        }
        let raw_users: f64 = cells.iter().map(|c| c.internet_users_2023).sum();
        let rural_users: f64 = cells.iter().filter(|c| c.rural).map(|c| c.internet_users_2023).sum::<f64>() * users_2023 / raw_users;
        let rural_shoppers = rural_users * pop.rural_shopping_share;
        let urban_share = (shoppers_2023 - rural_shoppers) / (users_2023 - rural_users);
        if !(0.0..=1.0).contains(&urban_share) {
            return Err(Error::input(
                Location::at(data.dir.join("parameters.csv"), None, "rural_shopping_share"),
                "a rural shopping share that leaves an urban share between 0 and 1 for CNNIC's national total",
                format!("{} (urban share would be {urban_share:.3})", pop.rural_shopping_share),
            ));
        }
        for c in &mut cells {
            c.internet_users_2023 *= users_2023 / raw_users;
            c.internet_users_2024 = c.internet_users_2023 * users_2024 / users_2023;
            c.shoppers_2023 = c.internet_users_2023 * if c.rural { pop.rural_shopping_share } else { urban_share };
        }
        Ok(Geography {
            province_names: data.provinces.iter().map(|p| p.name.clone()).collect(),
            province_codes: data.provinces.iter().map(|p| p.code).collect(),
            cells,
        })
    }

    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }

    pub fn cell_label(&self, c: usize) -> (&str, &'static str) {
        let cell = &self.cells[c];
        (&self.province_names[cell.province], if cell.rural { "rural" } else { "urban" })
    }

    /// Online shoppers (persons) per cell at the end of each month from the
    /// anchor month (Dec 2023) through `last`.
    pub fn shopper_path(&self, last: Month, entry_rate: f64) -> Vec<Vec<f64>> {
        let anchor = anchor_month();
        let months = last.since(anchor).max(0) as usize;
        let monthly = 1.0 - (1.0 - entry_rate).powf(1.0 / 12.0);
        let mut path = vec![self.cells.iter().map(|c| c.shoppers_2023).collect::<Vec<f64>>()];
        for m in 1..=months {
            // Internet users grow linearly to the Dec 2024 level, then hold.
            let f = (m as f64 / 12.0).min(1.0);
            let prev = &path[m - 1];
            let next = self
                .cells
                .iter()
                .zip(prev)
                .map(|(c, &s)| {
                    let users = c.internet_users_2023 + f * (c.internet_users_2024 - c.internet_users_2023);
                    s + (users - s).max(0.0) * monthly
                })
                .collect();
            path.push(next);
        }
        path
    }
}

/// Shares of the three income bands in a cell whose incomes are log-normal
/// with the given mean and sigma.
pub fn band_shares(mean: f64, sigma: f64, low_max: f64, high_min: f64) -> [f64; N_BANDS] {
    let mu = mean.ln() - sigma * sigma / 2.0;
    let low = normal_cdf((low_max.ln() - mu) / sigma);
    let below_high = normal_cdf((high_min.ln() - mu) / sigma).max(low);
    [low, below_high - low, 1.0 - below_high]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_shares_sum_to_one_and_move_with_income() {
        let poor = band_shares(20_000.0, 0.6, 20_000.0, 50_000.0);
        let rich = band_shares(80_000.0, 0.6, 20_000.0, 50_000.0);
        assert!((poor.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(poor[0] > rich[0] && poor[2] < rich[2]);
    }
}
