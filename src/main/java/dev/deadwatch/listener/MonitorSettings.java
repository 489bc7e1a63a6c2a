package dev.deadwatch.listener;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.Read;
import dev.deadwatch.regime.RegimeChange;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Everything a {@link DeadwatchListener} was built with, validated by
 * {@link DeadwatchListenerBuilder#build()}; the defaults and meaning of each are on the builder's
 * {@code opt*} methods. Components that were not set are {@code null} (the run id then is
 * generated, the output metric chosen from the loss, no endpoint, registry or files).
 *
 * @param interval snapshot every this many steps
 * @param orderEvery the order read every this many snapshots
 * @param maxInterval the interval's cap under budget back-off
 * @param probeSize probe samples collected from the first batches, 0 for automatic
 * @param maxRows row cap of the activation matrices
 * @param persist consecutive reads that confirm a regime change
 * @param trendWindow reads in the temporal slope of {@code log det⁺}
 * @param keepSnapshots snapshots kept on disk
 * @param budget share of wall time the monitor may take, in (0, 1]
 * @param fisher whether the Fisher side is read
 * @param seed seed of the order read's reference directions
 * @param blockFactory builds a fresh block of the model's architecture (float64 replica), or null
 * @param probeInputs the fixed probe batch, or null (collected from the first training batches)
 * @param probeLabels its labels, or null
 * @param registry a registry to publish into, or null
 * @param host endpoint bind address
 * @param port endpoint port, -1 for none, 0 for an ephemeral one
 * @param outputDirectory where snapshots are written, or null
 * @param runId the {@code run} label, or null (generated)
 * @param outputMetric the output metric, or null (from the loss)
 * @param detectors detectors of the order read
 * @param extraReads reads run after the built-in ones
 * @param onRegimeChange called on every confirmed regime change, or null
 * @param onReport called with every completed read, or null
 * @param readObserver told of each read before it starts
 * @param featureAxes layer path → feature axis, where the layout rule gets a layer wrong
 * @param timelineSize the newest reads the in-memory timeline keeps
 * @param waitForReads whether training waits for the worker instead of dropping a snapshot
 * @param orderCandidates order-read candidates read per layer at most
 * @param orderCandidatesTotal order-read candidates read per snapshot at most
 * @param orderSeconds time an order read may take ({@link dev.deadwatch.census.CensusRead})
 * @param copies without a replica, whether reads run on the worker on a snapshot's copies of the
 *     parameters (training pauses for the copy only) rather than on the model between steps
 * @param trimNativeMemory whether the read worker gives the C heap's free memory back between
 *     reads (glibc's {@code malloc_trim})
 */
public record MonitorSettings(int interval, int orderEvery, int maxInterval, int probeSize, int maxRows,
        int persist, int trendWindow, int keepSnapshots, double budget, boolean fisher, long seed,
        Supplier<Block> blockFactory, NDList probeInputs, NDList probeLabels, MeterRegistry registry,
        String host, int port, Path outputDirectory, String runId, OutputMetric outputMetric,
        List<Detector> detectors, List<Read> extraReads, Consumer<RegimeChange> onRegimeChange,
        Consumer<ReadReport> onReport, ReadSuite.ReadObserver readObserver, Map<String, Integer> featureAxes,
        int timelineSize, boolean waitForReads, int orderCandidates,
        int orderCandidatesTotal, double orderSeconds, boolean copies, boolean trimNativeMemory) {

    /** Copies the lists. */
    public MonitorSettings {
        detectors = List.copyOf(detectors);
        extraReads = List.copyOf(extraReads);
        featureAxes = Map.copyOf(featureAxes);
    }

    /** @return the reads of every snapshot: the built-in ones ({@link ReadSuite#defaults}), then the added ones */
    public List<Read> reads() {
        List<Read> out = new ArrayList<>(ReadSuite.defaults(maxRows, detectors, seed, fisher, orderCandidates,
                orderCandidatesTotal, orderSeconds));
        out.addAll(extraReads);
        return out;
    }

    /** @return whether the reads run on a float64 replica on the read worker */
    public boolean replica() {
        return blockFactory != null;
    }

    /** @return the precision of the reads, {@code float64} on the replica, else {@code float32} */
    public String precision() {
        return replica() ? "float64" : "float32";
    }
}
