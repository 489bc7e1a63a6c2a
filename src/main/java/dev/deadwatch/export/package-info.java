/**
 * Export through Micrometer: {@link dev.deadwatch.export.DeadwatchMetrics} owns every meter of
 * docs/metrics.md, and {@link dev.deadwatch.export.MetricsServer} serves a Prometheus registry on
 * {@code GET /metrics} and {@code GET /healthz}. Thread-safe: gauges read volatile holders
 * written by the analysis thread; the server runs on its own small pool.
 */
package dev.deadwatch.export;
