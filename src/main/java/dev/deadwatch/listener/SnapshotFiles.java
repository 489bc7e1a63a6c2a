package dev.deadwatch.listener;

import ai.djl.nn.Block;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.export.Json;
import dev.deadwatch.monitor.ReadReport;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The snapshot files of a run: the probe inputs once ({@code probe.ndlist}), and per read the
 * parameters ({@code snapshot-<step>.params}, DJL's format) and the report
 * ({@code snapshot-<step>.json}). Every file is written to a temporary file and renamed into
 * place; the newest {@code keep} snapshots are kept.
 */
final class SnapshotFiles {

    private final Path dir;
    private final int keep;

    /**
     * @param dir the folder
     * @param keep snapshots kept
     */
    SnapshotFiles(Path dir, int keep) {
        this.dir = dir;
        this.keep = keep;
    }

    /**
     * Writes one snapshot.
     *
     * @param step its step
     * @param report its reads
     * @param source the block whose parameters were read (the model or the replica)
     * @param probe the probe batch
     * @throws IOException when a file cannot be written
     */
    void write(long step, ReadReport report, Block source, ProbeBatch probe) throws IOException {
        Files.createDirectories(dir);
        Path probeFile = dir.resolve("probe.ndlist");
        if (!Files.exists(probeFile)) {
            atomicWrite(probeFile, out -> out.write(probe.inputs().encode()));
        }
        String name = String.format("snapshot-%010d", step);
        atomicWrite(dir.resolve(name + ".params"), out -> source.saveParameters(new DataOutputStream(out)));
        String json = Json.gson().toJson(document(report));
        atomicWrite(dir.resolve(name + ".json"), out -> out.write(json.getBytes(StandardCharsets.UTF_8)));
        retain();
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
                .filter(r -> !(r instanceof dev.deadwatch.reads.DdsResult
                        || r instanceof dev.deadwatch.reads.LayerNormResult
                        || r instanceof dev.deadwatch.order.OrderResult
                        || r instanceof dev.deadwatch.census.Census))
                .toList();
        if (!other.isEmpty()) {
            doc.put("other", other);
        }
        return doc;
    }

    /** Something that writes a file's content. */
    @FunctionalInterface
    interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes to a temporary file in the same directory, then renames it over the target, so a
     * crash mid-write leaves the previous file intact.
     */
    static void atomicWrite(Path target, Writer writer) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writer.write(out);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void retain() throws IOException {
        List<Path> snaps;
        try (Stream<Path> s = Files.list(dir)) {
            snaps = s.filter(p -> p.getFileName().toString().matches("snapshot-\\d+\\.params")).sorted().toList();
        }
        for (int i = 0; i < snaps.size() - keep; i++) {
            Path params = snaps.get(i);
            Files.deleteIfExists(params);
            Files.deleteIfExists(Path.of(params.toString().replace(".params", ".json")));
        }
    }
}
