package dev.deadwatch.snapshot;

import java.nio.file.Path;
import java.util.List;

/**
 * A snapshot folder whose files matched their checksums when it was opened
 * ({@link SnapshotReader#open}), with what its {@code snapshot.json} holds.
 *
 * @param folder the snapshot folder
 * @param info its {@code snapshot.json}
 */
public record Snapshot(Path folder, SnapshotInfo info) {

    /** The parameters of the block the reads ran on, in DJL's format ({@code Block.saveParameters}). */
    public static final String PARAMETERS = "parameters.params";
    /** The probe inputs, an encoded {@code NDList}. */
    public static final String INPUTS = "inputs.ndlist";
    /** The probe labels, an encoded {@code NDList} (empty when the probe has none). */
    public static final String LABELS = "labels.ndlist";
    /** The live reads' results, JSON. */
    public static final String REPORT = "report.json";
    /** Settings, exported numbers and provenance ({@link SnapshotInfo}), JSON. */
    public static final String INFO = "snapshot.json";
    /** Every file a snapshot holds besides {@code CHECKSUMS}, in the order written. */
    public static final List<String> FILES = List.of(PARAMETERS, INPUTS, LABELS, REPORT, INFO);

    /** @param name one of {@link #FILES} @return its path */
    public Path file(String name) {
        return folder.resolve(name);
    }
}
