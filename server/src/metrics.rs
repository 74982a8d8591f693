//! The instance's metrics in Prometheus' text format, on an address of their own
//! (`--metrics-addr`), never on the public port: what runs (by PHP version and status, how
//! long, how long it waited), the line, the containers (from the runner), the engine's errors,
//! the cache, the store, the backfill and every refusal by the cap that made it.
//!
//! Recorded through the `metrics` facade wherever things happen; without `--metrics-addr` no
//! recorder is installed and recording costs next to nothing. Labels are bounded: PHP versions
//! and image names the engine has, statuses, operations, caps; never a snippet id or input.

use crate::AppState;
use app::model::VersionResult;
use axum::extract::State;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use runner::metrics::{Described, Kind};
use std::time::Duration;

pub const VERSION_RUNS: &str = "evalgrid_version_runs_total";
pub const VERSION_RUN_DURATION: &str = "evalgrid_version_run_duration_seconds";
pub const RUN_WAIT: &str = "evalgrid_run_wait_seconds";
pub const RUNS_WAITING: &str = "evalgrid_runs_waiting";
pub const RUNS_IN_FLIGHT: &str = "evalgrid_runs_in_flight";
pub const CACHE_LOOKUPS: &str = "evalgrid_result_cache_lookups_total";
pub const CACHE_BYTES: &str = "evalgrid_result_cache_bytes";
pub const DATABASE_BYTES: &str = "evalgrid_database_bytes";
pub const BACKFILL_RUNS: &str = "evalgrid_backfill_runs_total";
pub const REFUSED: &str = "evalgrid_refused_total";

/// Every metric the server records itself.
const SERVER_METRICS: &[Described] = &[
    Described {
        name: VERSION_RUNS,
        kind: Kind::Counter,
        help: "Versions run for users (not from the cache), by PHP version and status.",
    },
    Described {
        name: VERSION_RUN_DURATION,
        kind: Kind::Histogram,
        help: "How long a version ran, as its cell shows it, by PHP version.",
    },
    Described {
        name: RUN_WAIT,
        kind: Kind::Histogram,
        help: "How long runs that had to wait for room waited in line before they started.",
    },
    Described {
        name: RUNS_WAITING,
        kind: Kind::Gauge,
        help: "Runs waiting in line for room now.",
    },
    Described {
        name: RUNS_IN_FLIGHT,
        kind: Kind::Gauge,
        help: "Runs waiting or running now.",
    },
    Described {
        name: CACHE_LOOKUPS,
        kind: Kind::Counter,
        help: "Look-ups of a version's result in the result cache, by result (hit, miss).",
    },
    Described {
        name: CACHE_BYTES,
        kind: Kind::Gauge,
        help: "What the result cache holds, in bytes (bounded by --cache-max-mib).",
    },
    Described {
        name: DATABASE_BYTES,
        kind: Kind::Gauge,
        help: "The room the database takes, in bytes.",
    },
    Described {
        name: BACKFILL_RUNS,
        kind: Kind::Counter,
        help: "Saved snippets run on a newly added version, by outcome (ran, failed).",
    },
    Described {
        name: REFUSED,
        kind: Kind::Counter,
        help:
            "Connections and requests refused, by the cap that refused them (its flag's name, or draining).",
    },
];

/// Every metric evalgrid exports: the runner's, the store's and the server's.
pub fn all() -> impl Iterator<Item = &'static Described> {
    runner::metrics::RUNNER_METRICS
        .iter()
        .chain(app::store::STORE_METRICS)
        .chain(SERVER_METRICS)
}

/// A refusal's cap, as [`REFUSED`] labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    MaxConnections,
    MaxConnectionsPerIp,
    RunsPerMinute,
    SnippetsPerHour,
    PageViewsPerMinute,
    RunsInFlightPerIp,
    MaxWaitingRuns,
    AdmissionWait,
    Draining,
}

impl Cap {
    fn as_str(self) -> &'static str {
        match self {
            Self::MaxConnections => "max_connections",
            Self::MaxConnectionsPerIp => "max_connections_per_ip",
            Self::RunsPerMinute => "runs_per_minute",
            Self::SnippetsPerHour => "snippets_per_hour",
            Self::PageViewsPerMinute => "page_views_per_minute",
            Self::RunsInFlightPerIp => "runs_in_flight_per_ip",
            Self::MaxWaitingRuns => "max_waiting_runs",
            Self::AdmissionWait => "admission_wait_secs",
            Self::Draining => "draining",
        }
    }
}

/// Counts a refusal by `cap`.
pub fn refused(cap: Cap) {
    metrics::counter!(REFUSED, "cap" => cap.as_str()).increment(1);
}

/// Counts a result a user's run produced: a cache hit, or a version run.
pub fn saw_result(result: &VersionResult) {
    if result.cached {
        return;
    }
    let version = result.php_version.clone();
    metrics::counter!(VERSION_RUNS, "php_version" => version.clone(), "status" => result.outcome.status.as_str())
        .increment(1);
    metrics::histogram!(VERSION_RUN_DURATION, "php_version" => version)
        .record(Duration::from_millis(result.outcome.duration_ms));
}

/// Counts a look-up in the result cache.
pub fn cache_lookup(hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(CACHE_LOOKUPS, "result" => result).increment(1);
}

/// Records how long a run waited in line before it was admitted.
pub fn waited(for_how_long: Duration) {
    metrics::histogram!(RUN_WAIT).record(for_how_long);
}

/// Counts a saved snippet run on a new version.
pub fn backfilled(ran: bool) {
    let outcome = if ran { "ran" } else { "failed" };
    metrics::counter!(BACKFILL_RUNS, "outcome" => outcome).increment(1);
}

/// Installs the Prometheus recorder for the whole process: from now on every metric recorded
/// anywhere ends up in the handle's page. Histograms of seconds get buckets from a millisecond
/// to a minute (a summary otherwise, which cannot be added up across instances).
pub fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    const SECONDS: &[f64] = &[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)?
        .install_recorder()?;
    for metric in all() {
        let (name, help) = (metric.name, metric.help);
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
    Ok(handle)
}

/// The metrics' own little server: `GET /metrics` and nothing else.
pub fn router(state: AppState, handle: PrometheusHandle) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state((state, handle))
}

/// The page, with the gauges that are read rather than recorded brought up to date first.
async fn scrape(State((state, handle)): State<(AppState, PrometheusHandle)>) -> String {
    metrics::gauge!(RUNS_WAITING).set(state.runner.waiting() as f64);
    metrics::gauge!(RUNS_IN_FLIGHT).set(state.drain.runs() as f64);
    if let Ok(size) = state.store.size().await {
        metrics::gauge!(CACHE_BYTES).set(size.cache_bytes as f64);
        metrics::gauge!(DATABASE_BYTES).set(size.database_bytes as f64);
    }
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every metric name in the dashboard's queries, histogram series reduced to their metric.
    fn dashboard_metrics() -> BTreeSet<String> {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana-dashboard.json")).expect("valid JSON");
        let mut names = BTreeSet::new();
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("a query");
                let words = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
                for word in words.filter(|word| word.starts_with("evalgrid_")) {
                    let metric = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| word.strip_suffix(suffix))
                        .filter(|metric| all().any(|m| m.name == *metric && m.kind == Kind::Histogram))
                        .unwrap_or(word);
                    names.insert(metric.to_owned());
                }
            }
        }
        names
    }

    #[test]
    fn the_dashboard_reads_only_exported_metrics_and_shows_each_of_them() {
        let exported: BTreeSet<String> = all().map(|metric| metric.name.to_owned()).collect();
        let shown = dashboard_metrics();
        let unknown: Vec<_> = shown.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "the dashboard reads metrics nobody exports: {unknown:?}"
        );
        let missing: Vec<_> = exported.difference(&shown).collect();
        assert!(missing.is_empty(), "exported but on no panel: {missing:?}");
    }

    #[test]
    fn metric_names_follow_prometheus_naming() {
        let mut seen = BTreeSet::new();
        for metric in all() {
            let name = metric.name;
            assert!(seen.insert(name), "{name} twice");
            assert!(name.starts_with("evalgrid_"), "{name}: the application's prefix");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}: snake case"
            );
            match metric.kind {
                Kind::Counter => assert!(name.ends_with("_total"), "{name}: a counter ends in _total"),
                Kind::Histogram => assert!(name.ends_with("_seconds"), "{name}: a duration in seconds"),
                Kind::Gauge => assert!(!name.ends_with("_total"), "{name}: a gauge is no total"),
            }
            assert!(!metric.help.is_empty(), "{name} has help");
        }
    }
}
