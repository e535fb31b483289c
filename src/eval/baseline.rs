//! Baselines from previous evaluations (reference §3).

use super::previous::PreviousEvaluation;

/// The previous values of `sli`: every indicator result of the selected evaluations with that
/// metric, a non-null value and `success: true` (#1263); the previous per-SLI status is ignored.
pub fn pool(previous: &[&PreviousEvaluation], sli: &str) -> Vec<f64> {
    previous
        .iter()
        .flat_map(|p| &p.indicators)
        .filter(|i| i.metric == sli && i.success)
        .filter_map(|i| i.value)
        .collect()
}

/// Aggregates the pool. An unknown function gives 0, as in Keptn (relative targets then compare
/// against 0). An empty pool gives 0.
pub fn aggregate(values: &[f64], function: &str) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    match function {
        "avg" => values.iter().sum::<f64>() / values.len() as f64,
        "p50" => percentile(values, 0.5),
        "p90" => percentile(values, 0.9),
        "p95" => percentile(values, 0.95),
        _ => 0.0,
    }
}

/// Keptn's percentile: sort, pos = p·(n+1); below 1 → min; at or past n → max; else linear
/// interpolation between the 1-based neighbours.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let pos = p * (n as f64 + 1.0);
    if pos < 1.0 {
        v[0]
    } else if pos >= n as f64 {
        v[n - 1]
    } else {
        let i = pos as usize; // floor, pos ≥ 1
        let lower = v[i - 1];
        let upper = v[i];
        lower + (pos - pos.floor()) * (upper - lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        assert_eq!(percentile(&[5.0, 15.0], 0.5), 10.0);
        let zero_to_ten: Vec<f64> = (0..=10).map(f64::from).collect();
        assert!((percentile(&zero_to_ten, 0.9) - 9.8).abs() < 1e-12);
        assert_eq!(percentile(&zero_to_ten, 0.95), 10.0);
        assert_eq!(aggregate(&[10.0, 10.0], "avg"), 10.0);
        assert_eq!(aggregate(&[1.0, 2.0, 6.0], "avg"), 3.0);
    }

    #[test]
    fn edges() {
        // pos < 1 → min; one value → that value.
        assert_eq!(percentile(&[7.0], 0.5), 7.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.1), 1.0);
        // unsorted input is sorted first
        assert_eq!(aggregate(&[15.0, 5.0], "p50"), 10.0);
        // unknown functions give 0 (Keptn), as do empty pools
        assert_eq!(aggregate(&[1.0, 2.0], "max"), 0.0);
        assert_eq!(aggregate(&[1.0, 2.0], "P90"), 0.0);
        assert_eq!(aggregate(&[], "avg"), 0.0);
    }
}
