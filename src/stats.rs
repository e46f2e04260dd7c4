//! Small numerical helpers with cited formulas: normal and Student-t
//! quantiles, the normal CDF, and interval summaries of replications.

/// Standard normal quantile (Acklam's rational approximation, relative error
/// below 1.15e-9, refined by one Halley step using `normal_cdf`).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] =
        [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] =
        [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p_low = 0.02425;
    let x = if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Standard normal CDF via erfc (W. J. Cody's rational Chebyshev form as in
/// Numerical Recipes' `erfcc`, fractional error below 1.2e-7), good enough for
/// band shares and the Halley refinement above.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Student-t quantile with `df` degrees of freedom: exact for 1 and 2, else
/// the Cornish-Fisher expansion around the normal quantile (Abramowitz and
/// Stegun 26.7.5), accurate to about 1e-3 for df >= 3 at p = 0.95.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if df <= 1.0 {
        return (std::f64::consts::PI * (p - 0.5)).tan();
    }
    if df <= 2.0 {
        return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
    }
    let z = normal_quantile(p);
    let z3 = z.powi(3);
    let z5 = z.powi(5);
    let z7 = z.powi(7);
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
}

/// A summary of one quantity over replications.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub mean: f64,
    /// 90% confidence interval for the mean (Student t).
    pub ci_low: f64,
    pub ci_high: f64,
    /// 5th and 95th percentiles of the replications themselves.
    pub p05: f64,
    pub p95: f64,
    pub n: usize,
}

impl Interval {
    pub fn of(values: &[f64]) -> Interval {
        let n = values.len();
        if n == 0 {
            return Interval { mean: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN, p05: f64::NAN, p95: f64::NAN, n };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        // One replication gives no interval, not a zero-width one.
        let half = if n > 1 {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t_quantile(0.95, (n - 1) as f64) * (var / n as f64).sqrt()
        } else {
            f64::NAN
        };
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Interval { mean, ci_low: mean - half, ci_high: mean + half, p05: percentile(&sorted, 0.05), p95: percentile(&sorted, 0.95), n }
    }
}

/// Linear-interpolation percentile of sorted values (Hyndman-Fan type 7).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-6);
        assert!((normal_quantile(0.05) + 1.644854).abs() < 1e-6);
        assert!((normal_cdf(1.0) - 0.841345).abs() < 1e-6);
        // Student t 0.95 quantiles: df 1 6.3138, 2 2.9200, 5 2.0150, 19 1.7291, 60 1.6706.
        for (df, t) in [(1.0, 6.3138), (2.0, 2.9200), (5.0, 2.0150), (19.0, 1.7291), (60.0, 1.6706)] {
            assert!((t_quantile(0.95, df) - t).abs() < 2e-3, "df {df}: {}", t_quantile(0.95, df));
        }
    }

    #[test]
    fn interval_of_known_sample() {
        let i = Interval::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(i.mean, 3.0);
        // sd = 1.5811, se = 0.7071, t(0.95, 4) = 2.1318 -> half-width 1.5074
        assert!((i.ci_high - 3.0 - 1.5074).abs() < 2e-3, "{:?}", i);
        assert!((i.p05 - 1.2).abs() < 1e-12 && (i.p95 - 4.8).abs() < 1e-12);
    }

    #[test]
    fn one_replication_has_no_interval() {
        let i = Interval::of(&[2.5]);
        assert_eq!(i.mean, 2.5);
        assert!(i.ci_low.is_nan() && i.ci_high.is_nan(), "{i:?}");
    }
}
