package dev.deadwatch.listener;

import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.census.Census;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.export.Json;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.reads.Read;
import dev.deadwatch.snapshot.Exported;
import dev.deadwatch.snapshot.ExportedCounts;
import dev.deadwatch.snapshot.Snapshot;
import dev.deadwatch.snapshot.SnapshotInfo;
import dev.deadwatch.snapshot.SnapshotWriter;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot files of a run (docs/snapshots.md): for every read, one snapshot folder in the
 * run's own folder under the output directory, written whole by a {@link SnapshotWriter}: the
 * parameters of the block the reads ran on, the probe's inputs and labels, the report, and
 * {@code snapshot.json} (the settings that run the reads again, and what was exported). Never
 * throws: a snapshot that cannot be written is counted in
 * {@code deadwatch_snapshot_write_failures_total} and logged once per cause; its reads stand (they
 * were done and published).
 */
final class SnapshotFiles implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);

    /** Files of a run without an output directory: nothing is written. */
    static final SnapshotFiles NONE = new SnapshotFiles(null, null, null, null, null, null, null);

    private final MonitorSettings settings;
    private final String runId;
    private final String model;
    private final Loss loss;
    private final DeadwatchMetrics metrics;
    private final OnceLog log;
    private final List<String> reads;
    private final List<SnapshotInfo.DetectorSpec> detectors;
    /** Every read passes here, written or not: the order read a snapshot's numbers rest on is carried. */
    private final ExportedCounts counts = new ExportedCounts();
    private SnapshotWriter writer;
    /** The probe, encoded once: it never changes. */
    private byte[] inputs;
    private byte[] labels;

    private SnapshotFiles(MonitorSettings settings, String runId, String model, Loss loss, DeadwatchMetrics metrics,
            OnceLog log, List<String> reads) {
        this.settings = settings;
        this.runId = runId;
        this.model = model;
        this.loss = loss;
        this.metrics = metrics;
        this.log = log;
        this.reads = reads;
        this.detectors = settings == null ? List.of()
                : settings.detectors().stream().map(SnapshotInfo.DetectorSpec::of).toList();
    }

    /**
     * @param settings the monitor's settings ({@link MonitorSettings#outputDirectory()} is the output directory)
     * @param runId the run id, which names the run's folder
     * @param model the DJL model's name
     * @param loss the training loss, or {@code null}
     * @param metrics where a failed write is counted
     * @param log where it is said, once per cause
     * @return the files, or {@link #NONE} without an output directory
     */
    static SnapshotFiles of(MonitorSettings settings, String runId, String model, Loss loss, DeadwatchMetrics metrics,
            OnceLog log) {
        if (settings.outputDirectory() == null) {
            return NONE;
        }
        return new SnapshotFiles(settings, runId, model, loss, metrics, log,
                settings.reads().stream().map(Read::name).toList());
    }

    /**
     * Writes the snapshot of one read. Never throws.
     *
     * @param report the read
     * @param on the block the reads ran on, bound to the probe (the model or its replica)
     * @param probe the probe batch as collected
     */
    synchronized void write(ReadReport report, ModelProbe on, ProbeBatch probe) {
        write(report, on, probe, null);
    }

    /**
     * The parameters of the block the reads run on, serialized now, for a snapshot whose reads
     * finish after the block has moved on (the model itself, read without a replica).
     *
     * @param block the model's block
     * @return its parameters as {@code saveParameters} writes them, or {@code null} when no
     *     snapshot is written
     * @throws java.io.UncheckedIOException never in practice (an in-memory stream)
     */
    byte[] parametersOf(Block block) {
        if (settings == null) {
            return null;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (DataOutputStream data = new DataOutputStream(bytes)) {
            block.saveParameters(data);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Writes the snapshot of one read. Never throws.
     *
     * @param report the read
     * @param on the block the reads ran on, bound to the probe (the model or its replica)
     * @param probe the probe batch as collected
     * @param parameters the block's parameters as {@link #parametersOf} took them, or {@code null}
     *     to take them from {@code on} now
     */
    synchronized void write(ReadReport report, ModelProbe on, ProbeBatch probe, byte[] parameters) {
        if (settings == null) {
            return;
        }
        try {
            Exported exported = counts.observe(report); // every read, written or not
            if (writer == null) {
                writer = SnapshotWriter.open(settings.outputDirectory(), runId, settings.keepSnapshots());
                LOG.info("deadwatch: snapshots of run {} go to {}", runId, writer.folder());
            }
            if (inputs == null) {
                inputs = probe.inputs().encode();
                labels = probe.labels().encode();
            }
            Map<String, SnapshotWriter.Content> files = new LinkedHashMap<>();
            files.put(Snapshot.PARAMETERS, parameters != null ? out -> out.write(parameters) : out -> {
                DataOutputStream data = new DataOutputStream(out);
                on.block().saveParameters(data);
                data.flush();
            });
            files.put(Snapshot.INPUTS, out -> out.write(inputs));
            files.put(Snapshot.LABELS, out -> out.write(labels));
            files.put(Snapshot.REPORT, json(document(report)));
            files.put(Snapshot.INFO, json(info(report, on, exported)));
            writer.write(report.step(), files);
        } catch (Exception e) {
            metrics.snapshotWriteFailed();
            String where = writer == null ? settings.outputDirectory().toString() : writer.folder().toString();
            log.once("snapshot-files:" + cause(e, where), "deadwatch: the snapshot of step {} could not be written to {} ({});"
                    + " its reads stand, failed writes are counted in deadwatch_snapshot_write_failures_total and this"
                    + " cause is not logged again", report.step(), where, e.toString(), e instanceof IOException ? null : e);
        }
    }

    /**
     * What tells one failure from another, for logging it once: the exception's class and reason,
     * without the file it names (which differs for every snapshot).
     *
     * @param e the failure
     * @param folder the folder written to
     * @return the key
     */
    static String cause(Exception e, String folder) {
        String why = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        why = why == null ? "" : why.replace(folder, "<folder>").replaceAll("snapshot-\\d+", "snapshot-<step>");
        return e.getClass().getName() + ":" + why;
    }

    private static SnapshotWriter.Content json(Object document) {
        byte[] bytes = Json.gson().toJson(document).getBytes(StandardCharsets.UTF_8);
        return out -> out.write(bytes);
    }

    private SnapshotInfo info(ReadReport report, ModelProbe on, Exported exported) {
        List<String> ran = reads.stream().filter(report::ran).toList();
        return new SnapshotInfo(SnapshotInfo.FORMAT, BuildInfo.currentVersion(), runId, model, report.step(),
                on.precision().toString(), on.metric().name(), loss == null ? null : loss.getClass().getName(),
                settings.maxRows(), settings.seed(), settings.fisher(), Spectrum.EPS_DEAD, Spectrum.DEFAULT_FLOOR,
                detectors, settings.featureAxes(), reads, ran, exported, settings.orderCandidates(),
                settings.orderCandidatesTotal());
    }

    /** The report as written: the built-in reads' results by kind, then any other results. */
    private static Map<String, Object> document(ReadReport report) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("step", report.step());
        doc.put("dds", report.dds());
        doc.put("layerNorms", report.layerNorms());
        doc.put("orders", report.orders());
        doc.put("census", report.census());
        doc.put("orderRead", report.orderRead());
        doc.put("seconds", report.seconds());
        List<Object> other = report.results().stream()
                .filter(r -> !(r instanceof DdsResult || r instanceof LayerNormResult || r instanceof OrderResult
                        || r instanceof Census))
                .toList();
        if (!other.isEmpty()) {
            doc.put("other", other);
        }
        return doc;
    }

    /** Releases the run folder's lock; the snapshots stay. */
    @Override
    public synchronized void close() {
        if (writer != null) {
            try {
                writer.close();
            } catch (IOException ignored) {
                // the lock goes with the process anyway
            }
        }
    }
}
