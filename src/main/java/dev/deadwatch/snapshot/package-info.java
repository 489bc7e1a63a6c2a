/**
 * Snapshot folders on disk (docs/snapshots.md): {@link dev.deadwatch.snapshot.SnapshotWriter}
 * writes each snapshot as one folder, renamed into place whole, in a folder of its own per run,
 * with a {@code CHECKSUMS} file; {@link dev.deadwatch.snapshot.SnapshotReader} verifies one and
 * {@link dev.deadwatch.snapshot.Snapshot#reread} runs the reads on it again.
 * {@link dev.deadwatch.snapshot.ExportedCounts} turns a report into the per-layer numbers the live
 * monitor exports, so that a re-read can be compared with what was exported.
 */
package dev.deadwatch.snapshot;
