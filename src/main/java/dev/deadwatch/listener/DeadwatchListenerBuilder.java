package dev.deadwatch.listener;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.export.MetricsOutput;
import dev.deadwatch.export.MetricsServer;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.LogDetTrend;
import dev.deadwatch.reads.Read;
import dev.deadwatch.regime.RegimeChange;
import dev.deadwatch.regime.RegimeTracker;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Builds a {@link DeadwatchListener} ({@code DeadwatchListener.builder()}); every option is optional,
 * its default in its Javadoc. Each {@code opt*} method checks its value and names a bad one in its
 * {@link IllegalArgumentException}.
 */
public final class DeadwatchListenerBuilder {
    private int interval = 50;
    private int orderEvery = 5;
    private int orderCandidates = dev.deadwatch.census.CensusRead.DEFAULT_MAX_PER_LAYER;
    private int orderCandidatesTotal = dev.deadwatch.census.CensusRead.DEFAULT_MAX_TOTAL;
    private double orderSeconds = dev.deadwatch.census.CensusRead.DEFAULT_SECONDS;
    private boolean copies = true;
    private boolean trimNativeMemory = true;
    private int maxInterval = 100_000;
    private int probeSize;
    private int maxRows = 4096;
    private int persist = RegimeTracker.DEFAULT_PERSIST;
    private int trendWindow = LogDetTrend.DEFAULT_WINDOW;
    private int keepSnapshots = 5;
    private int timelineSize = 10_000;
    private double budget = 0.05;
    private boolean fisher = true;
    private boolean waitForReads;
    private long seed;
    private Supplier<Block> factory;
    private NDList probeInputs;
    private NDList probeLabels;
    private MeterRegistry registry;
    private String host = MetricsServer.DEFAULT_HOST;
    private int port = -1;
    private Path outputDir;
    private String runId;
    private OutputMetric metric;
    private List<Detector> detectors = Detector.defaults();
    private final List<Read> extraReads = new ArrayList<>();
    private final Map<String, Integer> featureAxes = new LinkedHashMap<>();
    private Consumer<RegimeChange> onRegimeChange;
    private Consumer<ReadReport> onReport;
    private ReadSuite.ReadObserver observer = ReadSuite.ReadObserver.NONE;

    DeadwatchListenerBuilder() {}

    /** @param steps snapshot every this many steps (default 50), at least 1 */
    public DeadwatchListenerBuilder optInterval(int steps) {
        this.interval = positive("interval", steps);
        return this;
    }

    /** @param snapshots run the order read every this many snapshots (default 5), at least 1 */
    public DeadwatchListenerBuilder optOrderEvery(int snapshots) {
        this.orderEvery = positive("orderEvery", snapshots);
        return this;
    }

    /**
     * @param perLayer order-read candidates read per layer at most (default 2), at least 1
     * @param total candidates read per order read at most (default 8), at least {@code perLayer}:
     *     whole layers, from a place that moves with the step; the sample is chosen from the seed
     *     and reported as {@code deadwatch_order_candidates}
     */
    public DeadwatchListenerBuilder optOrderCandidates(int perLayer, int total) {
        this.orderCandidates = positive("orderCandidates", perLayer);
        if (total < perLayer) {
            throw new IllegalArgumentException("orderCandidates total must be >= perLayer " + perLayer + ", got " + total);
        }
        this.orderCandidatesTotal = total;
        return this;
    }

    /**
     * @param seconds time an order read may take, its detectors included (default 30), positive;
     *     {@link Double#POSITIVE_INFINITY} for none. Layers of the sample that would not finish in
     *     time are left for a later order read and counted as not read
     *     ({@code deadwatch_order_candidates{set="read"}})
     */
    public DeadwatchListenerBuilder optOrderSeconds(double seconds) {
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("orderSeconds must be > 0, got " + seconds);
        }
        this.orderSeconds = seconds;
        return this;
    }

    /**
     * @param samples probe samples collected from the first training batches, at least 2 (default:
     *     automatic, twice the width of the widest dense layer — Linear or LayerNorm — at least 64
     *     and at most {@code maxRows}, so the activation reads resolve every dense layer; a layer
     *     still wider than the probe's rows has its unresolved part exported, never called dead)
     */
    public DeadwatchListenerBuilder optProbeSize(int samples) {
        if (samples < 2) {
            throw new IllegalArgumentException("probeSize must be >= 2, got " + samples);
        }
        this.probeSize = samples;
        return this;
    }

    /**
     * @param inputs the fixed probe batch (default: the first {@code probeSize} samples of the
     *     first training batches)
     * @param labels its labels (needed for the Fisher side), may be {@code null}
     */
    public DeadwatchListenerBuilder optProbe(NDList inputs, NDList labels) {
        this.probeInputs = Objects.requireNonNull(inputs, "probe inputs");
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("probe inputs are empty");
        }
        this.probeLabels = labels;
        return this;
    }

    /**
     * @param factory builds a fresh block of the model's architecture; enables the float64
     *     replica (default: none, float32 reads on copies of the parameters,
     *     {@link #optReadOnCopies})
     */
    public DeadwatchListenerBuilder optBlockFactory(Supplier<Block> factory) {
        this.factory = Objects.requireNonNull(factory, "factory");
        return this;
    }

    /**
     * The monitor's time budget. Reads may take at most this fraction of wall time: the
     * training thread's pauses plus the worker's CPU time (counted twice when training's
     * engine threads take every core). Each read's cost is predicted from
     * its last run and a read that would go over is not started. With a budget below 1 the
     * worker (with a block factory) also yields its core to training: it runs in Linux's
     * {@code SCHED_IDLE} class ({@link ThreadPriority}), on CPU time training leaves unused,
     * so when training keeps every core busy reads come less often instead of slowing it.
     *
     * @param fraction in (0,1] (default 0.05); 1 turns the budget off and the worker then
     *     runs at ordinary priority
     */
    public DeadwatchListenerBuilder optBudget(double fraction) {
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("budget must be in (0,1], got " + fraction);
        }
        this.budget = fraction;
        return this;
    }

    /**
     * Whether every snapshot is read. By default a snapshot taken while the read worker is still
     * on an earlier one (with another waiting) is dropped and counted as
     * {@code reads_skipped_total{reason="busy"}}, so reads never hold training up. With this on
     * the training thread waits for a free place instead: the timeline has a row for every
     * snapshot whatever the machine's load, at the cost of pauses when reads take longer than the
     * steps between snapshots (demos, tests, offline studies). Reads on the model itself
     * ({@link #optReadOnCopies} off) run on the training thread and are never dropped, so this
     * changes nothing there.
     *
     * @param enabled whether training waits for the worker (default false)
     */
    public DeadwatchListenerBuilder optWaitForReads(boolean enabled) {
        this.waitForReads = enabled;
        return this;
    }

    /**
     * Without a block factory, where the reads run. On copies (the default) the training thread
     * only copies the parameters at a snapshot, in the model's own type and in native memory, and
     * the read worker runs every read on the model's blocks with the copies in place of the
     * parameters, while training goes on; at most two snapshots' copies exist at a time. Off, the
     * reads that need the model (the forward and backward passes, the order read) run on the model
     * itself on the training thread between steps, which pauses training for them but copies
     * nothing. A model with a block that reads a parameter other than from DJL's parameter store
     * (checked with one forward pass at the first snapshot) is read the second way, said once.
     *
     * @param enabled whether reads without a replica run on copies (default true)
     */
    public DeadwatchListenerBuilder optReadOnCopies(boolean enabled) {
        this.copies = enabled;
        return this;
    }

    /**
     * Whether the read worker gives the C heap's free memory back to the system after each read
     * (glibc's {@code malloc_trim}; elsewhere nothing happens). A read frees hundreds of megabytes
     * on a transformer, which glibc otherwise keeps for the worker thread alone: on a MiniLM-size
     * encoder with a float64 replica, trimming lowered peak RSS by about a fifth (BENCHMARKS.md).
     * Each trim walks every arena (0.1–0.3 s there): training's freed pages go back too.
     *
     * @param enabled whether to trim (default true)
     */
    public DeadwatchListenerBuilder optTrimNativeMemory(boolean enabled) {
        this.trimNativeMemory = enabled;
        return this;
    }

    /** @param enabled whether to read the Fisher side of Linear layers (default true) */
    public DeadwatchListenerBuilder optFisher(boolean enabled) {
        this.fisher = enabled;
        return this;
    }

    /** @param rows row cap {@code N_max} of the activation matrices (default 4096), at least 2 */
    public DeadwatchListenerBuilder optMaxRows(int rows) {
        if (rows < 2) {
            throw new IllegalArgumentException("maxRows must be >= 2, got " + rows);
        }
        this.maxRows = rows;
        return this;
    }

    /** @param reads consecutive reads that confirm a regime change (default 2), at least 1 */
    public DeadwatchListenerBuilder optPersist(int reads) {
        this.persist = positive("persist", reads);
        return this;
    }

    /** @param registry a registry to publish into (default: none) */
    public DeadwatchListenerBuilder optRegistry(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        return this;
    }

    /**
     * Serves {@code /metrics} and {@code /healthz} (default: no endpoint). {@link #build()} binds it,
     * and fails there when the address cannot be bound; {@link DeadwatchListener#close()} stops it.
     *
     * @param host bind address (use 127.0.0.1 unless scraped from elsewhere)
     * @param port port, 0 for an ephemeral one
     */
    public DeadwatchListenerBuilder optPrometheusEndpoint(String host, int port) {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host must not be blank, got '" + host + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        this.host = host;
        this.port = port;
        return this;
    }

    /** @param dir where snapshots are written (default: none) */
    public DeadwatchListenerBuilder optOutputDirectory(Path dir) {
        this.outputDir = Objects.requireNonNull(dir, "dir");
        return this;
    }

    /**
     * @param reads the newest reads {@link DeadwatchListener#timeline()} keeps in memory (default
     *     10000, a few MB), at least 1; older rows are dropped, the exported series are unaffected
     */
    public DeadwatchListenerBuilder optTimelineSize(int reads) {
        this.timelineSize = positive("timelineSize", reads);
        return this;
    }

    /** @param n snapshots kept on disk (default 5), at least 1 */
    public DeadwatchListenerBuilder optKeepSnapshots(int n) {
        this.keepSnapshots = positive("keepSnapshots", n);
        return this;
    }

    /** @param id the {@code run} label (default: random 8 hex characters) */
    public DeadwatchListenerBuilder optRunId(String id) {
        if (id == null || !id.matches("[A-Za-z0-9_.:-]{1,64}")) {
            throw new IllegalArgumentException(
                    "run id must be 1-64 characters of [A-Za-z0-9_.:-], got '" + id + "'");
        }
        this.runId = id;
        return this;
    }

    /** @param metric output metric (default: softmax for a softmax cross-entropy loss, else identity) */
    public DeadwatchListenerBuilder optOutputMetric(OutputMetric metric) {
        this.metric = Objects.requireNonNull(metric, "metric");
        return this;
    }

    /** @param detectors detectors of the order read (default {@link Detector#defaults()}) */
    public DeadwatchListenerBuilder optDetectors(List<Detector> detectors) {
        this.detectors = List.copyOf(detectors);
        return this;
    }

    /** @param seed seed of the order read's reference directions (default 0) */
    public DeadwatchListenerBuilder optSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /** @param callback called on every confirmed regime change (default: none) */
    public DeadwatchListenerBuilder optOnRegimeChange(Consumer<RegimeChange> callback) {
        this.onRegimeChange = callback;
        return this;
    }

    /**
     * @param readObserver told the name of each read just before it starts, on the thread
     *     that runs it (tracing, profiling); an exception it throws fails the read, which is
     *     counted as {@code error} and never reaches training
     */
    public DeadwatchListenerBuilder optReadObserver(ReadSuite.ReadObserver readObserver) {
        this.observer = Objects.requireNonNull(readObserver, "readObserver");
        return this;
    }

    /** @param callback called with every completed read (default: none) */
    public DeadwatchListenerBuilder optOnReport(Consumer<ReadReport> callback) {
        this.onReport = callback;
        return this;
    }

    private static int positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
        return v;
    }

    /**
     * Adds a read, run after the built-in ones on every snapshot (docs/method.md); its time is
     * exported as {@code deadwatch_read_seconds{read="<name>"}} and its results reach
     * {@link #optOnReport} callbacks.
     *
     * @param read the read; its name must differ from the built-in reads' and the other added ones'
     */
    public DeadwatchListenerBuilder optRead(Read read) {
        extraReads.add(Objects.requireNonNull(read, "read"));
        return this;
    }

    /**
     * The feature axis of one layer's output, where the layout rule gets it wrong (a custom block
     * with channels on another axis, say): the rule takes the channels (axis 1) after a
     * convolution and the last axis after any other block with parameters (docs/method.md §2).
     *
     * @param layer the layer's path (as in the {@code layer} label)
     * @param axis the feature axis, 1 or more, or negative from the end (-1 is the last)
     */
    public DeadwatchListenerBuilder optFeatureAxis(String layer, int axis) {
        if (layer == null || layer.isBlank()) {
            throw new IllegalArgumentException("feature axis layer must not be blank, got '" + layer + "'");
        }
        if (axis == 0) {
            throw new IllegalArgumentException("feature axis of layer " + layer + " must not be 0 (the batch axis)");
        }
        featureAxes.put(layer, axis);
        return this;
    }

    /** @return the settings, validated */
    public MonitorSettings settings() {
        return new MonitorSettings(interval, orderEvery, maxInterval, probeSize, maxRows, persist, trendWindow,
                keepSnapshots, budget, fisher, seed, factory, probeInputs, probeLabels, registry, host, port,
                outputDir, runId, metric, detectors, extraReads, onRegimeChange, onReport, observer, featureAxes,
                timelineSize, waitForReads, orderCandidates, orderCandidatesTotal, orderSeconds, copies,
                trimNativeMemory);
    }

    /**
     * Builds the listener and, with {@link #optPrometheusEndpoint}, binds and starts its endpoint,
     * which then serves (empty until training begins) until {@link DeadwatchListener#close()}.
     *
     * @return the listener
     * @throws IllegalArgumentException when an added read's name is taken
     * @throws UncheckedIOException when the endpoint's address cannot be bound; the message names
     *     {@code host:port} and the cause ({@code cannot bind the metrics endpoint to
     *     127.0.0.1:9400: Address already in use})
     */
    public DeadwatchListener build() {
        MonitorSettings s = settings();
        new ReadSuite(s.reads(), ReadSuite.ReadObserver.NONE); // checks the read names are distinct
        try {
            return new DeadwatchListener(s, MetricsOutput.open(s.registry(), s.host(), s.port()));
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}
