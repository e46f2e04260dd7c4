//! What is measured each month: additive sums per region cell and income
//! band, and the metrics (shares, reach, holdings) computed from them.
//!
//! Sums are in real persons, orders and CNY (agent sums times the agents'
//! weight), so any grouping of cells (national, urban/rural, province, band)
//! is a plain sum, and metrics are computed from the grouped sums. What is
//! measured is declared here, not coded into the step.

use crate::platform::{N_PLATFORMS, Platform};
use crate::wallet::{N_WALLETS, Wallet};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sums {
    pub consumers: f64,
    /// Expected orders, GMV (CNY) and buyers (persons with at least one order).
    pub orders: [f64; N_PLATFORMS],
    pub gmv: [f64; N_PLATFORMS],
    pub reach: [f64; N_PLATFORMS],
    pub pay_orders: [[f64; N_WALLETS]; N_PLATFORMS],
    pub pay_gmv: [[f64; N_WALLETS]; N_PLATFORMS],
    pub holding: [f64; N_WALLETS],
    /// Holders plus those who may still take the wallet up (Bass potential).
    pub potential: [f64; N_WALLETS],
    pub dual: f64,
    pub wechat_only: f64,
    /// Expected buyers on Taobao/Tmall among WeChat-Pay-only consumers.
    pub wechat_only_taobao_buyers: f64,
    /// Wallets set up to buy on a platform, and taken up by Bass adoption.
    pub setups: [f64; N_WALLETS],
    pub adoptions: [f64; N_WALLETS],
}

impl Sums {
    pub fn add(&mut self, o: &Sums) {
        self.add_scaled(o, 1.0);
    }

    pub fn add_scaled(&mut self, o: &Sums, w: f64) {
        self.consumers += w * o.consumers;
        for p in 0..N_PLATFORMS {
            self.orders[p] += w * o.orders[p];
            self.gmv[p] += w * o.gmv[p];
            self.reach[p] += w * o.reach[p];
            for m in 0..N_WALLETS {
                self.pay_orders[p][m] += w * o.pay_orders[p][m];
                self.pay_gmv[p][m] += w * o.pay_gmv[p][m];
            }
        }
        for m in 0..N_WALLETS {
            self.holding[m] += w * o.holding[m];
            self.potential[m] += w * o.potential[m];
            self.setups[m] += w * o.setups[m];
            self.adoptions[m] += w * o.adoptions[m];
        }
        self.dual += w * o.dual;
        self.wechat_only += w * o.wechat_only;
        self.wechat_only_taobao_buyers += w * o.wechat_only_taobao_buyers;
    }

    pub fn total_orders(&self) -> f64 {
        self.orders.iter().sum()
    }

    pub fn total_gmv(&self) -> f64 {
        self.gmv.iter().sum()
    }
}

/// The metric columns of every time-series file, in order, with their units.
pub fn metric_columns() -> Vec<(String, &'static str)> {
    let mut cols = vec![("shoppers_million".to_string(), "million persons"), ("gmv_billion_cny".to_string(), "billion CNY per month")];
    for p in Platform::ALL {
        cols.push((format!("gmv_share_{}", p.id()), "share of GMV"));
    }
    for p in Platform::ALL {
        cols.push((format!("order_share_{}", p.id()), "share of orders"));
    }
    for p in Platform::ALL {
        cols.push((format!("reach_{}", p.id()), "share of shoppers buying in the month"));
    }
    for m in Wallet::ALL {
        cols.push((format!("pay_share_{}", m.id()), "share of e-commerce GMV"));
    }
    for p in Platform::ALL {
        for m in Wallet::ALL {
            cols.push((format!("pay_share_{}_{}", p.id(), m.id()), "share of the platform's GMV"));
        }
    }
    for m in Wallet::ALL {
        cols.push((format!("holding_{}", m.id()), "share of shoppers"));
    }
    cols.push(("holding_dual".into(), "share of shoppers"));
    cols.push(("wechat_only_share".into(), "share of shoppers"));
    cols.push(("wechat_only_taobao_buyers_million".into(), "million persons per month"));
    cols.push(("wechat_only_taobao_reach".into(), "share of WeChat-Pay-only shoppers"));
    for m in Wallet::ALL {
        cols.push((format!("setups_{}_thousand", m.id()), "thousand persons per month"));
    }
    for m in Wallet::ALL {
        cols.push((format!("adoptions_{}_thousand", m.id()), "thousand persons per month"));
    }
    cols
}

/// The metrics of `metric_columns`, in the same order.
pub fn metrics(s: &Sums) -> Vec<f64> {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let (orders, gmv) = (s.total_orders(), s.total_gmv());
    let mut v = vec![s.consumers / 1e6, gmv / 1e9];
    v.extend(s.gmv.iter().map(|&g| ratio(g, gmv)));
    v.extend(s.orders.iter().map(|&o| ratio(o, orders)));
    v.extend(s.reach.iter().map(|&r| ratio(r, s.consumers)));
    // Shares of the GMV paid, which is the GMV up to the single-precision
    // rounding of the payment split: so the wallets' shares sum to 1.
    let paid: f64 = s.pay_gmv.iter().flatten().sum();
    for m in 0..N_WALLETS {
        v.push(ratio((0..N_PLATFORMS).map(|p| s.pay_gmv[p][m]).sum(), paid));
    }
    for p in 0..N_PLATFORMS {
        let pg: f64 = s.pay_gmv[p].iter().sum();
        for m in 0..N_WALLETS {
            v.push(ratio(s.pay_gmv[p][m], pg));
        }
    }
    v.extend(s.holding.iter().map(|&h| ratio(h, s.consumers)));
    v.push(ratio(s.dual, s.consumers));
    v.push(ratio(s.wechat_only, s.consumers));
    v.push(s.wechat_only_taobao_buyers / 1e6);
    v.push(ratio(s.wechat_only_taobao_buyers, s.wechat_only));
    v.extend(s.setups.iter().map(|x| x / 1e3));
    v.extend(s.adoptions.iter().map(|x| x / 1e3));
    v
}

/// Index of a metric column by name.
pub fn metric_index(name: &str) -> Option<usize> {
    metric_columns().iter().position(|(c, _)| c == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_values_line_up() {
        let mut s = Sums { consumers: 10.0, ..Default::default() };
        s.orders[0] = 3.0;
        s.orders[1] = 1.0;
        s.gmv[0] = 30.0;
        s.gmv[1] = 10.0;
        s.pay_gmv[0][0] = 30.0;
        s.pay_gmv[1][1] = 10.0;
        let cols = metric_columns();
        let v = metrics(&s);
        assert_eq!(cols.len(), v.len());
        let get = |n: &str| v[metric_index(n).unwrap()];
        assert_eq!(get("gmv_share_taobao"), 0.75);
        assert_eq!(get("order_share_jd"), 0.25);
        assert_eq!(get("pay_share_alipay"), 0.75);
        assert_eq!(get("pay_share_taobao_alipay"), 1.0);
        assert_eq!(get("pay_share_douyin_alipay"), 0.0);
    }
}
