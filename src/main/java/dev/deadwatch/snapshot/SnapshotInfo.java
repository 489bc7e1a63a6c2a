package dev.deadwatch.snapshot;

import ai.djl.training.loss.Loss;
import com.google.gson.JsonElement;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.export.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a snapshot's {@code snapshot.json} holds: who wrote it and everything needed to run its
 * reads again as the live monitor ran them, and what the monitor exported for it.
 *
 * @param format the snapshot format ({@link #FORMAT})
 * @param version the deadwatch version that wrote it
 * @param run the run id
 * @param model the DJL model's name (the examples' {@code deadwatch read} finds the block by it)
 * @param step the training step
 * @param precision the precision the reads ran in, {@code float64} or {@code float32}
 * @param outputMetric the output metric, {@code IDENTITY} or {@code SOFTMAX}
 * @param loss the training loss' class, or {@code null} when none was known
 * @param maxRows row cap of the activation matrices
 * @param seed seed of the order read's reference directions
 * @param fisher whether the Fisher side was read
 * @param epsDead the dead threshold of the DDS reads
 * @param floor the spectrum floor of the DDS reads
 * @param detectors the order read's detectors
 * @param featureAxes layer → feature axis overrides
 * @param reads every read of the monitor, in order (added reads included)
 * @param ran the reads that ran to their end on this snapshot
 * @param exported what the live monitor exported for this read
 * @param orderCandidates order-read candidates read per layer at most ({@code null} in older
 *     snapshots: the default)
 * @param orderCandidatesTotal order-read candidates read per snapshot at most (likewise)
 */
public record SnapshotInfo(int format, String version, String run, String model, long step, String precision,
        String outputMetric, String loss, int maxRows, long seed, boolean fisher, double epsDead, double floor,
        List<DetectorSpec> detectors, Map<String, Integer> featureAxes, List<String> reads, List<String> ran,
        Exported exported, Integer orderCandidates, Integer orderCandidatesTotal) {

    /** The snapshot format this build writes and reads. */
    public static final int FORMAT = 1;

    /** Copies; missing lists and maps are empty. */
    public SnapshotInfo {
        detectors = detectors == null ? List.of() : List.copyOf(detectors);
        featureAxes = featureAxes == null ? Map.of() : Map.copyOf(featureAxes);
        reads = reads == null ? List.of() : List.copyOf(reads);
        ran = ran == null ? List.of() : List.copyOf(ran);
        orderCandidates = orderCandidates == null ? CensusRead.DEFAULT_MAX_PER_LAYER : orderCandidates;
        orderCandidatesTotal = orderCandidatesTotal == null ? CensusRead.DEFAULT_MAX_TOTAL : orderCandidatesTotal;
    }

    /** @return the precision of the reads */
    public Precision readPrecision() {
        return Precision.parse(precision);
    }

    /** @return the output metric */
    public OutputMetric metric() {
        return OutputMetric.valueOf(outputMetric);
    }

    /**
     * A detector as written: its class and its fields, so that it can be built again.
     *
     * @param type its class
     * @param config its fields as JSON, or {@code null} when they could not be written
     */
    public record DetectorSpec(String type, JsonElement config) {

        /**
         * @param d a detector
         * @return its spec; a detector whose fields JSON cannot hold gets no config
         */
        public static DetectorSpec of(Detector d) {
            JsonElement config;
            try {
                config = Json.gson().toJsonTree(d);
            } catch (RuntimeException e) {
                config = null;
            }
            return new DetectorSpec(d.getClass().getName(), config);
        }

        /**
         * @return the detector built again
         * @throws IllegalArgumentException naming the detector when it cannot be
         */
        public Detector create() {
            if (config == null) {
                throw new IllegalArgumentException("detector " + type + " was written without its settings");
            }
            try {
                return Json.gson().fromJson(config, Class.forName(type).asSubclass(Detector.class));
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalArgumentException("detector " + type + " cannot be built again (" + e + ")", e);
            }
        }
    }

    /**
     * @return the detectors built again
     * @throws IllegalArgumentException naming one that cannot be
     */
    public List<Detector> createDetectors() {
        List<Detector> out = new ArrayList<>();
        for (DetectorSpec d : detectors) {
            out.add(d.create());
        }
        return out;
    }

    /**
     * @return the training loss built again with its class' no-argument constructor, or
     *     {@code null} when none was known or it has none (the Fisher side then does not apply)
     */
    public Loss createLoss() {
        if (loss == null) {
            return null;
        }
        try {
            return Class.forName(loss).asSubclass(Loss.class).getConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }
}
