package dev.deadwatch.listener;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.AbstractAccuracy;
import ai.djl.training.evaluator.Evaluator;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;
import ai.djl.util.Pair;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.export.Json;
import dev.deadwatch.export.MetricsServer;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.reads.LogDetTrend;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.Side;
import dev.deadwatch.regime.ChangeKind;
import dev.deadwatch.regime.RegimeChange;
import dev.deadwatch.regime.RegimeTracker;
import dev.deadwatch.regime.Signature;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a DJL training run: snapshots the model every {@code interval} steps, runs the reads
 * (DDS and LayerNorm every snapshot, the order read every {@code orderEvery} snapshots), exports
 * the METRICS.md series, and confirms regime changes.
 *
 * <p>With a block factory the reads run on a float64 replica on a background worker, and the
 * training thread only copies the parameters (plus the Fisher side when enabled). Without one
 * they run in float32 on the model itself, on the training thread, between steps; every
 * perturbation is undone bit-exactly.
 *
 * <p>Never throws into DJL: every callback catches, counts {@code reads_skipped_total{reason=error}}
 * and logs once per cause.
 */
public final class DeadwatchListener extends TrainingListenerAdapter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);

    private final Builder config;
    private final String runId;
    private final Set<String> loggedCauses = ConcurrentHashMap.newKeySet();
    private final List<TimelineRow> timeline = new CopyOnWriteArrayList<>();
    private final Map<String, LogDetTrend> trends = new HashMap<>();
    private final Map<String, Set<Integer>> lastOrders = new HashMap<>();
    private final RegimeTracker regimes;

    private NDManager manager;
    private ProbeBatch probe;
    private Replica replica;
    private ModelProbe replicaProbe;
    private ModelProbe modelProbe;
    private ReadSuite suite;
    private DeadwatchMetrics metrics;
    private MeterRegistry registry;
    private PrometheusMeterRegistry prometheus;
    private MetricsServer server;
    private ThreadPoolExecutor worker;
    private Trainer trainer;
    private Block block;
    private boolean hasAccuracy;

    private long step;
    private long lastSnapshotStep;
    private boolean finalRead;
    private long snapshots;
    private long snapshotsSinceOrder;
    /** Cost of the last snapshot without its order read (training-thread pause + worker), ns. */
    private volatile long lastReadNanos;
    /** Cost of the last order read, ns; 0 until one has run. */
    private volatile long lastOrderNanos;
    /** The worker's clock ({@link #workerClock()}) when its last order read started. */
    private volatile long orderStartClock = Long.MIN_VALUE;
    /** Cost of the first snapshot, not charged to the budget (see {@link #charged()}). */
    private volatile long warmupNanos;
    private volatile boolean warmedUp;
    private int interval;
    private long wallStart;
    /**
     * What a second of the worker's CPU time counts against the budget: 1 when training leaves
     * a core free, {@link #CONTENDED_CHARGE} when it does not.
     */
    private volatile double workerCharge = 1;
    /**
     * When training's engine threads take every core, a second of the worker's CPU time is also
     * a second training's threads could have run, even in {@code SCHED_IDLE} (caches, memory
     * bandwidth, and the idle moments between operations are part of a step): measured on the
     * grokking example, training lost about as much as the worker ran. The worker's CPU time is
     * then charged twice, for the read and for what it takes from training, so that when reads
     * are held back by the budget their cost to training stays within about half of it.
     */
    static final double CONTENDED_CHARGE = 2;
    /**
     * Time charged for reading: the training thread's pauses (wall time) and the worker's CPU
     * time (see {@link #workerClock()}), both add to it.
     */
    private final AtomicLong readNanos = new AtomicLong();
    /**
     * Share of wall time the running training loss and accuracy may cost the training thread:
     * a batch is sampled once the time since the last sample is at least that sample's cost
     * divided by this share (and at step 1 and every snapshot step).
     */
    static final double TRAIN_METRIC_SHARE = 0.0025;
    /** When the last training-batch sample ended, and what it cost, ns. */
    private long lastSampleEnd;
    private long lastSampleNanos;

    private final Accumulator trainAcc = new Accumulator();
    private final Accumulator validationAcc = new Accumulator();
    private volatile double[] lastValidation = {Double.NaN, Double.NaN};
    private volatile double[] lastTrain = {Double.NaN, Double.NaN};

    private DeadwatchListener(Builder b) {
        this.config = b;
        this.runId = b.runId != null ? b.runId : UUID.randomUUID().toString().substring(0, 8);
        this.regimes = new RegimeTracker(b.persist);
        this.interval = b.interval;
    }

    /** @return a builder with the defaults documented on its methods */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the run id (the {@code run} label) */
    public String runId() {
        return runId;
    }

    /** @return the completed reads so far, in step order */
    public List<TimelineRow> timeline() {
        return Collections.unmodifiableList(timeline);
    }

    /** @return the metrics endpoint's port, or -1 when no endpoint runs */
    public int port() {
        return server == null ? -1 : server.port();
    }

    /** @return the Prometheus registry of the built-in endpoint, or {@code null} */
    public PrometheusMeterRegistry prometheusRegistry() {
        return prometheus;
    }

    /** @return what a second of the worker's CPU time counts against the budget (see {@link #CONTENDED_CHARGE}) */
    double workerCharge() {
        return workerCharge;
    }

    /** @return the current snapshot interval in steps (grows when the budget is exceeded) */
    public int interval() {
        return interval;
    }

    // ------------------------------------------------------------------ DJL callbacks

    @Override
    public void onTrainingBegin(Trainer trainer) {
        guard("begin", () -> begin(trainer));
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        guard("batch", () -> batch(trainer, batchData));
    }

    @Override
    public void onValidationBatch(Trainer trainer, BatchData batchData) {
        guard("validation", () -> accumulate(trainer, batchData, validationAcc));
    }

    @Override
    public void onEpoch(Trainer trainer) {
        guard("epoch", () -> {
            if (validationAcc.count > 0) {
                lastValidation = new double[] {validationAcc.loss(), validationAcc.accuracy()};
                if (metrics != null) {
                    metrics.validation(lastValidation[0], lastValidation[1]);
                }
            }
            validationAcc.reset();
            trainAcc.reset();
        });
    }

    @Override
    public void onTrainingEnd(Trainer trainer) {
        guard("end", () -> {
            // the final state is always read, whatever the budget or interval left unread
            if (probe != null && step > lastSnapshotStep && manager != null && !worker.isShutdown()) {
                finalRead = true;
                snapshot(trainer, snapshotsSinceOrder + 1 >= config.orderEvery);
            }
            drain();
        });
    }

    // ------------------------------------------------------------------ capture (training thread)

    private void begin(Trainer t) throws IOException {
        if (manager != null) {
            return; // one listener watches one run
        }
        trainer = t;
        block = t.getModel().getBlock();
        manager = NDManager.newBaseManager();
        manager.setName("deadwatch");
        String model = t.getModel().getName() == null ? "model" : t.getModel().getName();
        String precision = config.factory != null ? "float64" : "float32";
        Engine engine = Engine.getInstance();
        metrics = new DeadwatchMetrics(runId, model, BuildInfo.currentVersion(),
                engine.getEngineName() + " " + engine.getVersion(), precision);
        List<MeterRegistry> regs = new ArrayList<>();
        if (config.registry != null) {
            regs.add(config.registry);
        }
        if (config.port >= 0) {
            prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            regs.add(prometheus);
        }
        if (regs.isEmpty()) {
            registry = new SimpleMeterRegistry(); // nothing exported, but the meters still count
        } else if (regs.size() == 1) {
            registry = regs.get(0);
        } else {
            CompositeMeterRegistry composite = new CompositeMeterRegistry();
            regs.forEach(composite::add);
            registry = composite;
        }
        {
            metrics.bindTo(registry);
            for (Evaluator e : t.getEvaluators()) {
                if (e instanceof AbstractAccuracy) {
                    hasAccuracy = true;
                }
            }
            if (hasAccuracy) {
                metrics.registerAccuracy();
            }
            metrics.registerLayers(ReadSuite.tappedLayers(BlockPaths.of(block)));
        }
        if (prometheus != null) {
            server = MetricsServer.start(prometheus, config.host, config.port);
            LOG.info("deadwatch: serving metrics on http://{}:{}/metrics (run {})",
                    config.host, server.port(), runId);
        }
        suite = new ReadSuite(config.maxRows, config.detectors, config.seed, read -> {
            if ("order".equals(read)) {
                orderStartClock = workerClock(); // to split a worker read's cost into its order read and the rest
            }
            config.observer.beforeRead(read);
        });
        worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(1),
                r -> {
                    Thread th = new Thread(() -> {
                        GradMode.disableOnThisThread(); // no autograd graphs, legal in-place writes
                        GradMode.singleThreadedOnThisThread(); // leave the other cores to training
                        if (config.budget < 1) { // reads run on CPU time training leaves unused
                            LOG.debug("deadwatch: read worker at {}", ThreadPriority.yieldCurrentThread()
                                    .map(Object::toString).orElse("unchanged scheduling"));
                        }
                        r.run();
                    }, "deadwatch-reads");
                    th.setDaemon(true);
                    return th;
                });
        // the final read is put straight into the queue, which never starts a thread by itself
        worker.prestartAllCoreThreads();
        // whether training leaves the worker a core: read on the training thread, whose engine
        // (intra-op) thread count is what its steps use; unknown on other engines, taken as none
        int trainingThreads = GradMode.threadsOfThisThread();
        int cores = Runtime.getRuntime().availableProcessors();
        if (config.factory != null && config.budget < 1 && (trainingThreads < 0 || trainingThreads >= cores)) {
            workerCharge = CONTENDED_CHARGE;
            LOG.info("deadwatch: training uses {} engine threads on {} cores, none free for reads: the read worker"
                    + " yields to training and its CPU time counts {}x against the budget", trainingThreads, cores,
                    CONTENDED_CHARGE);
        }
        wallStart = System.nanoTime();
    }

    private void batch(Trainer t, BatchData data) throws IOException {
        if (manager == null) {
            begin(t);
        }
        step++;
        // the trainer's loss and accuracy evaluators re-run on its own predictions, ~10 engine
        // calls and two host copies (0.2-0.4 ms on the grokking example, a step there is ~2.6 ms):
        // batches are sampled so that this costs at most TRAIN_METRIC_SHARE of wall time
        long now = System.nanoTime();
        if (step == 1 || step % interval == 0 || now - lastSampleEnd >= lastSampleNanos / TRAIN_METRIC_SHARE) {
            accumulate(t, data, trainAcc);
            lastSampleEnd = System.nanoTime();
            lastSampleNanos = lastSampleEnd - now;
        }
        if (trainAcc.count > 0) {
            lastTrain = new double[] {trainAcc.loss(), trainAcc.accuracy()};
            if (metrics != null) {
                metrics.train(lastTrain[0], lastTrain[1]);
            }
        }
        if (probe == null) {
            captureProbe(data);
        }
        if (step % interval != 0) {
            return;
        }
        // the budget is checked before reading, with each read's cost predicted from its last run:
        // a read that would take the monitor's share of wall time over the budget is not started
        double elapsed = Math.max(1, System.nanoTime() - wallStart);
        long spent = charged();
        boolean orderDue = snapshotsSinceOrder + 1 >= config.orderEvery;
        boolean budgeted = config.budget < 1;
        if (budgeted && snapshots > 0 && (spent + lastReadNanos) / elapsed > config.budget) {
            skip("budget");
            if (orderDue) {
                skip("budget"); // the order read due with it is not done either
            }
            interval = Math.min(interval * 2, config.maxInterval);
            LOG.debug("deadwatch: reads at {} of wall time, over budget; interval now {}", spent / elapsed, interval);
            return;
        }
        boolean withOrder = orderDue;
        if (budgeted && orderDue && lastOrderNanos > 0 && (spent + lastReadNanos + lastOrderNanos) / elapsed > config.budget) {
            skip("budget"); // the order read waits for a snapshot where it fits
            withOrder = false;
        }
        if (interval > config.interval && spent / elapsed < config.budget / 2) {
            interval = Math.max(config.interval, interval / 2); // back under budget: recover
        }
        snapshot(t, withOrder);
    }

    private void captureProbe(BatchData data) {
        if (config.probeInputs != null) {
            probe = ProbeBatch.copyOf(manager, config.probeInputs,
                    config.probeLabels == null ? new NDList() : config.probeLabels);
            return;
        }
        NDList in = data.getBatch().getData();
        NDList labels = data.getBatch().getLabels();
        long n = Math.min(config.probeSize, in.head().getShape().get(0));
        probe = ProbeBatch.copyOf(manager, slice(in, n), labels == null ? new NDList() : slice(labels, n));
    }

    private static NDList slice(NDList list, long n) {
        NDList out = new NDList();
        for (NDArray a : list) {
            out.add(a.get("0:" + n));
        }
        return out;
    }

    private void snapshot(Trainer t, boolean withOrder) throws IOException {
        long t0 = System.nanoTime();
        long previousSinceOrder = snapshotsSinceOrder;
        snapshotsSinceOrder = withOrder ? 0 : snapshotsSinceOrder + 1;
        snapshots++;
        long previousSnapshotStep = lastSnapshotStep;
        lastSnapshotStep = step;
        if (metrics != null) {
            metrics.snapshot();
        }
        long at = step;
        if (config.factory == null) {
            // float32 on the model itself, here, between steps
            if (!finite()) {
                skip("nonfinite");
                pause(t0);
                return;
            }
            double[] scores = scores();
            ReadReport report = readOn(modelProbe(), at, withOrder);
            cost(pause(t0), withOrder ? (long) (report.seconds().getOrDefault("order", 0.0) * 1e9) : 0, report);
            publish(report, scores);
            writeSnapshot(at, report, block);
            return;
        }
        if (!finalRead && worker.getQueue().remainingCapacity() == 0) {
            // the worker is still on an earlier snapshot with another waiting: not even copied
            busy(previousSnapshotStep, previousSinceOrder);
            pause(t0);
            return;
        }
        // the training thread only copies the parameters; every read, the Fisher side's forward
        // and backward included, runs on the worker on the float64 replica
        List<double[]> values = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            values.add(ParameterState.toDoubles(p.getValue().getArray()));
        }
        if (!allFinite(values)) {
            skip("nonfinite");
            pause(t0);
            return;
        }
        if (replica == null) { // built here: it reads the model's parameters once
            replica = Replica.float64(config.factory, block, manager, probe.inputs().getShapes());
            replicaProbe = new ModelProbe(replica.block(), probe, Precision.FLOAT64, metric());
        }
        double[] scores = scores();
        long held = pause(t0);
        Runnable job = () -> guard("read", () -> analyse(at, values, withOrder, scores, held));
        try {
            if (finalRead) {
                worker.getQueue().put(job); // the last read waits for a free slot instead of dropping
            } else {
                worker.execute(job);
            }
        } catch (RejectedExecutionException e) {
            busy(previousSnapshotStep, previousSinceOrder);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            skip("busy");
        }
    }

    /**
     * A snapshot dropped because the worker is still reading: the state of this step is read at
     * training end if it is the last one, and an order read due with it stays due.
     */
    private void busy(long previousSnapshotStep, long previousSinceOrder) {
        skip("busy");
        lastSnapshotStep = previousSnapshotStep;
        snapshotsSinceOrder = previousSinceOrder;
    }

    private static boolean allFinite(List<double[]> values) {
        for (double[] v : values) {
            for (double x : v) {
                if (!Double.isFinite(x)) {
                    return false;
                }
            }
        }
        return true;
    }

    private boolean finite() {
        try (NDManager s = manager.newSubManager()) {
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray sum = p.getValue().getArray().sum();
                sum.attach(s);
                if (!Double.isFinite(ParameterState.toDoubles(sum)[0])) {
                    return false;
                }
            }
        }
        return true;
    }

    private ModelProbe modelProbe() {
        if (modelProbe == null) {
            modelProbe = new ModelProbe(block, probe, Precision.FLOAT32, metric());
        }
        return modelProbe;
    }

    private OutputMetric metric() {
        if (config.metric != null) {
            return config.metric;
        }
        Loss loss = trainer.getLoss();
        return loss instanceof SoftmaxCrossEntropyLoss ? OutputMetric.SOFTMAX : OutputMetric.IDENTITY;
    }

    /** Ends a training-thread pause begun at {@code t0}; @return its length, ns */
    private long pause(long t0) {
        long d = System.nanoTime() - t0;
        readNanos.addAndGet(d);
        if (metrics != null) {
            metrics.pause(d);
        }
        return d;
    }

    /** Whether an order read needing {@code nanos} more keeps the monitor within its budget. */
    private boolean orderFits(long nanos) {
        double elapsed = Math.max(1, System.nanoTime() - wallStart);
        return config.budget >= 1 || (charged() + nanos) / elapsed <= config.budget;
    }

    /**
     * Read time charged to the budget: all of it but the first snapshot's, whose one-time
     * warm-up (class loading, JIT, building the replica) would otherwise silence the monitor for
     * the rest of a long run. The pause and read timers still show it.
     */
    private long charged() {
        return readNanos.get() - warmupNanos;
    }

    /**
     * Remembers what a snapshot cost, split into its order read and the rest, to predict the next.
     *
     * @param totalNanos the snapshot's charged cost
     * @param order the order read's part of it, 0 when none ran
     */
    private void cost(long totalNanos, long order, ReadReport report) {
        if (report.orderRead()) { // a complete order read (one stopped by the budget says less)
            lastOrderNanos = order;
        }
        lastReadNanos = Math.max(0, totalNanos - order);
        if (!warmedUp) {
            warmedUp = true;
            warmupNanos = totalNanos;
        }
    }

    // ------------------------------------------------------------------ analysis (worker)

    private void analyse(long at, List<double[]> values, boolean withOrder, double[] scores, long held)
            throws IOException {
        long t0 = workerClock();
        replica.load(values);
        ReadReport report = readOn(replicaProbe, at, withOrder);
        long end = workerClock();
        long worked = (long) ((end - t0) * workerCharge);
        long order = withOrder && orderStartClock >= t0 ? (long) ((end - orderStartClock) * workerCharge) : 0;
        readNanos.addAndGet(worked);
        cost(held + worked, order, report);
        publish(report, scores);
        writeSnapshot(at, report, replica.block());
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean THREAD_CPU = THREADS.isCurrentThreadCpuTimeSupported();

    /**
     * The worker's clock for the budget: its CPU time where the JVM can tell it, else wall time.
     * The worker yields its core to training ({@link ThreadPriority}), so the wall time of a read
     * includes waits that cost training nothing; its CPU time is what it took from the machine.
     */
    private static long workerClock() {
        return THREAD_CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /**
     * Every read of one snapshot on the model or the replica: the Fisher side (when on and the
     * probe has labels), then the activation reads and, when due, the order read within the budget.
     */
    private ReadReport readOn(ModelProbe mp, long at, boolean withOrder) {
        List<DdsResult> fisher = List.of();
        if (config.fisher && !probe.labels().isEmpty()) {
            fisher = timed("fisher", () -> suite.fisher(mp, trainer.getLoss()));
        }
        ReadReport report = suite.read(mp, at, withOrder, fisher, this::orderFits);
        if (withOrder && !report.orderRead()) {
            skip("budget"); // stopped after its first candidate: the rest would not fit
        }
        return report;
    }

    /** @return train loss, train accuracy, validation loss, validation accuracy, as of now */
    private double[] scores() {
        double[] tr = lastTrain;
        double[] val = lastValidation;
        return new double[] {tr[0], tr[1], val[0], val[1]};
    }

    private synchronized void publish(ReadReport report, double[] scores) {
        Map<String, Double> slopes = new HashMap<>();
        for (DdsResult r : report.dds()) {
            String key = r.layer() + "|" + r.side().label();
            slopes.put(key, trends.computeIfAbsent(key, k -> new LogDetTrend(config.trendWindow))
                    .add(report.step(), r.logDetActive()));
        }
        Map<String, Integer> dead = new LinkedHashMap<>();
        for (DdsResult r : report.dds()) {
            if (r.side() == Side.ACTIVATION && r.deadCount() >= 0) {
                dead.put(r.layer(), r.deadCount());
            }
        }
        if (report.orderRead()) {
            Map<String, Set<Integer>> fresh = new HashMap<>();
            for (OrderResult r : report.orders()) {
                Set<Integer> s = fresh.computeIfAbsent(r.layer(), k -> new TreeSet<>());
                if (r.isDead()) {
                    s.add(r.order());
                }
            }
            lastOrders.clear();
            lastOrders.putAll(fresh);
        }
        Map<String, Boolean> kernel = new HashMap<>();
        for (LayerNormResult r : report.layerNorms()) {
            kernel.put(r.layer(), r.kernel());
        }
        if (metrics != null) {
            metrics.publish(report, slopes);
            report.seconds().forEach(metrics::readTime);
        }
        int changes = 0;
        for (Map.Entry<String, Integer> e : dead.entrySet()) {
            String layer = e.getKey();
            Signature sig = new Signature(e.getValue(), new TreeSet<>(lastOrders.getOrDefault(layer, Set.of())),
                    kernel.getOrDefault(layer, false));
            var change = regimes.observe(layer, report.step(), sig);
            if (change.isPresent()) {
                changes++;
                regimeChanged(change.get());
            }
        }
        Map<String, String> orders = new LinkedHashMap<>();
        if (report.orderRead()) {
            Map<String, List<String>> byLayer = new LinkedHashMap<>();
            for (OrderResult r : report.orders()) {
                if (r.isDead()) {
                    byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(Integer.toString(r.order()));
                }
            }
            byLayer.forEach((l, ks) -> orders.put(l, String.join(",", ks)));
        }
        timeline.add(new TimelineRow(report.step(), scores[0], scores[1], scores[2], scores[3],
                dead, orders, changes));
        if (config.onReport != null) {
            config.onReport.accept(report);
        }
    }

    private void regimeChanged(RegimeChange c) {
        LOG.info(c.describe());
        if (metrics != null) {
            metrics.regime(c.layer(), c.regime());
            for (ChangeKind k : c.kinds()) {
                metrics.regimeChange(c.layer(), k, c.regime());
            }
        }
        if (config.onRegimeChange != null) {
            try {
                config.onRegimeChange.accept(c);
            } catch (RuntimeException e) {
                logOnce("callback", e);
            }
        }
    }

    // ------------------------------------------------------------------ snapshots on disk

    private void writeSnapshot(long at, ReadReport report, Block source) throws IOException {
        Path dir = config.outputDir;
        if (dir == null) {
            return;
        }
        Files.createDirectories(dir);
        Path probeFile = dir.resolve("probe.ndlist");
        if (!Files.exists(probeFile)) {
            atomicWrite(probeFile, out -> {
                out.write(probe.inputs().encode());
            });
        }
        String name = String.format("snapshot-%010d", at);
        atomicWrite(dir.resolve(name + ".params"), out -> source.saveParameters(new DataOutputStream(out)));
        String json = Json.gson().toJson(report);
        atomicWrite(dir.resolve(name + ".json"), out -> out.write(json.getBytes(StandardCharsets.UTF_8)));
        retain(dir);
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

    private void retain(Path dir) throws IOException {
        List<Path> snaps;
        try (Stream<Path> s = Files.list(dir)) {
            snaps = s.filter(p -> p.getFileName().toString().matches("snapshot-\\d+\\.params"))
                    .sorted().toList();
        }
        for (int i = 0; i < snaps.size() - config.keepSnapshots; i++) {
            Path params = snaps.get(i);
            Files.deleteIfExists(params);
            Files.deleteIfExists(Path.of(params.toString().replace(".params", ".json")));
        }
    }

    // ------------------------------------------------------------------ loss and accuracy

    /** Running sample-weighted means of the trainer's own loss and accuracy evaluators. */
    private static final class Accumulator {
        double lossSum;
        double accSum;
        long count;
        boolean hasAcc;

        void reset() {
            lossSum = 0;
            accSum = 0;
            count = 0;
        }

        double loss() {
            return count == 0 ? Double.NaN : lossSum / count;
        }

        double accuracy() {
            return count == 0 || !hasAcc ? Double.NaN : accSum / count;
        }
    }

    private void accumulate(Trainer t, BatchData data, Accumulator acc) {
        // the predictions belong to the step's autograd graph: with grad mode on, every op on
        // them here would record graph nodes that nothing uses
        GradMode.off(() -> {
            accumulateOn(t, data, acc);
            return null;
        });
    }

    private void accumulateOn(Trainer t, BatchData data, Accumulator acc) {
        for (Device d : data.getLabels().keySet()) {
            NDList labels = data.getLabels().get(d);
            NDList preds = data.getPredictions().get(d);
            if (labels == null || preds == null) {
                continue;
            }
            long n = labels.head().getShape().get(0);
            try (NDArray loss = t.getLoss().evaluate(labels, preds)) {
                acc.lossSum += n * ParameterState.toDoubles(loss)[0];
            }
            for (Evaluator e : t.getEvaluators()) {
                if (e instanceof AbstractAccuracy) {
                    try (NDArray a = e.evaluate(labels, preds)) { // DJL returns the count correct
                        acc.accSum += ParameterState.toDoubles(a)[0];
                        acc.hasAcc = true;
                    }
                    break;
                }
            }
            acc.count += n;
        }
    }

    // ------------------------------------------------------------------ plumbing

    /** Something that may throw. */
    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    private void guard(String where, Action action) {
        try {
            action.run();
        } catch (Throwable e) { // never into DJL, not even from the error path
            try {
                skip("error");
                logOnce(where, e);
            } catch (Throwable ignored) {
                // nothing left to do safely
            }
        }
    }

    private <T> T timed(String read, Supplier<T> s) {
        long t0 = System.nanoTime();
        try {
            return s.get();
        } finally {
            if (metrics != null) {
                metrics.readTime(read, (System.nanoTime() - t0) / 1e9);
            }
        }
    }

    private void skip(String reason) {
        if (metrics != null) {
            metrics.skipped(reason);
        }
    }

    private void logOnce(String where, Throwable e) {
        String cause = where + ":" + e.getClass().getName() + ":" + e.getMessage();
        if (loggedCauses.add(cause)) {
            LOG.warn("deadwatch: {} failed ({}); training continues, further identical failures are"
                    + " counted, not logged", where, e.toString(), e);
        }
    }

    /** Waits for the worker to finish the queued reads (at most 60 s). */
    public void drain() {
        if (worker == null) {
            return;
        }
        worker.shutdown();
        try {
            if (!worker.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("deadwatch: reads still running after 60 s at the end of training");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the worker and the endpoint and frees every native array the monitor holds. */
    @Override
    public void close() {
        drain();
        if (server != null) {
            server.close();
        }
        if (metrics != null) {
            metrics.close();
        }
        if (modelProbe != null) {
            modelProbe.close();
        }
        if (replicaProbe != null) {
            replicaProbe.close();
        }
        if (replica != null) {
            replica.close();
        }
        if (probe != null) {
            probe.close();
        }
        if (manager != null) {
            manager.close();
        }
    }

    // ------------------------------------------------------------------ builder

    /** Builds a {@link DeadwatchListener}; every option is optional. */
    public static final class Builder {
        private int interval = 50;
        private int orderEvery = 5;
        private int maxInterval = 100_000;
        private int probeSize = 64;
        private int maxRows = 4096;
        private int persist = RegimeTracker.DEFAULT_PERSIST;
        private int trendWindow = LogDetTrend.DEFAULT_WINDOW;
        private int keepSnapshots = 5;
        private double budget = 0.05;
        private boolean fisher = true;
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
        private Consumer<RegimeChange> onRegimeChange;
        private Consumer<ReadReport> onReport;
        private ReadSuite.ReadObserver observer = ReadSuite.ReadObserver.NONE;

        private Builder() {}

        /** @param steps snapshot every this many steps (default 50), at least 1 */
        public Builder optInterval(int steps) {
            this.interval = positive("interval", steps);
            return this;
        }

        /** @param snapshots run the order read every this many snapshots (default 5), at least 1 */
        public Builder optOrderEvery(int snapshots) {
            this.orderEvery = positive("orderEvery", snapshots);
            return this;
        }

        /** @param samples probe size when captured from the first batch (default 64), at least 2 */
        public Builder optProbeSize(int samples) {
            if (samples < 2) {
                throw new IllegalArgumentException("probeSize must be >= 2, got " + samples);
            }
            this.probeSize = samples;
            return this;
        }

        /**
         * @param inputs the fixed probe batch (default: the first {@code probeSize} samples of the
         *     first training batch)
         * @param labels its labels (needed for the Fisher side), may be {@code null}
         */
        public Builder optProbe(NDList inputs, NDList labels) {
            this.probeInputs = Objects.requireNonNull(inputs, "probe inputs");
            if (inputs.isEmpty()) {
                throw new IllegalArgumentException("probe inputs are empty");
            }
            this.probeLabels = labels;
            return this;
        }

        /**
         * @param factory builds a fresh block of the model's architecture; enables the float64
         *     replica and moves the reads off the training thread (default: none, float32 reads
         *     on the training thread)
         */
        public Builder optBlockFactory(Supplier<Block> factory) {
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
        public Builder optBudget(double fraction) {
            if (!(fraction > 0 && fraction <= 1)) {
                throw new IllegalArgumentException("budget must be in (0,1], got " + fraction);
            }
            this.budget = fraction;
            return this;
        }

        /** @param enabled whether to read the Fisher side of Linear layers (default true) */
        public Builder optFisher(boolean enabled) {
            this.fisher = enabled;
            return this;
        }

        /** @param rows row cap {@code N_max} of the activation matrices (default 4096), at least 2 */
        public Builder optMaxRows(int rows) {
            if (rows < 2) {
                throw new IllegalArgumentException("maxRows must be >= 2, got " + rows);
            }
            this.maxRows = rows;
            return this;
        }

        /** @param reads consecutive reads that confirm a regime change (default 2), at least 1 */
        public Builder optPersist(int reads) {
            this.persist = positive("persist", reads);
            return this;
        }

        /** @param registry a registry to publish into (default: none) */
        public Builder optRegistry(MeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /**
         * Serves {@code /metrics} and {@code /healthz} (default: no endpoint).
         *
         * @param host bind address (use 127.0.0.1 unless scraped from elsewhere)
         * @param port port, 0 for an ephemeral one
         */
        public Builder optPrometheusEndpoint(String host, int port) {
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
        public Builder optOutputDirectory(Path dir) {
            this.outputDir = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** @param n snapshots kept on disk (default 5), at least 1 */
        public Builder optKeepSnapshots(int n) {
            this.keepSnapshots = positive("keepSnapshots", n);
            return this;
        }

        /** @param id the {@code run} label (default: random 8 hex characters) */
        public Builder optRunId(String id) {
            if (id == null || !id.matches("[A-Za-z0-9_.:-]{1,64}")) {
                throw new IllegalArgumentException(
                        "run id must be 1-64 characters of [A-Za-z0-9_.:-], got '" + id + "'");
            }
            this.runId = id;
            return this;
        }

        /** @param metric output metric (default: softmax for a softmax cross-entropy loss, else identity) */
        public Builder optOutputMetric(OutputMetric metric) {
            this.metric = Objects.requireNonNull(metric, "metric");
            return this;
        }

        /** @param detectors detectors of the order read (default {@link Detector#defaults()}) */
        public Builder optDetectors(List<Detector> detectors) {
            this.detectors = List.copyOf(detectors);
            return this;
        }

        /** @param seed seed of the order read's reference directions (default 0) */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** @param callback called on every confirmed regime change (default: none) */
        public Builder optOnRegimeChange(Consumer<RegimeChange> callback) {
            this.onRegimeChange = callback;
            return this;
        }

        /**
         * @param readObserver told the name of each read just before it starts, on the thread
         *     that runs it (tracing, profiling); an exception it throws fails the read, which is
         *     counted as {@code error} and never reaches training
         */
        public Builder optReadObserver(ReadSuite.ReadObserver readObserver) {
            this.observer = Objects.requireNonNull(readObserver, "readObserver");
            return this;
        }

        /** @param callback called with every completed read (default: none) */
        public Builder optOnReport(Consumer<ReadReport> callback) {
            this.onReport = callback;
            return this;
        }

        private static int positive(String name, int v) {
            if (v < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + v);
            }
            return v;
        }

        /** @return the listener */
        public DeadwatchListener build() {
            return new DeadwatchListener(this);
        }
    }

    /** @return the listener as a DJL listener array, for {@code addTrainingListeners} */
    public TrainingListener[] asArray() {
        return new TrainingListener[] {this};
    }

    /** @return the number of snapshots taken */
    public long snapshots() {
        return snapshots;
    }

    /** @return the training steps seen */
    public long steps() {
        return step;
    }

    /** @return the regime number of a layer */
    public int regime(String layer) {
        synchronized (this) {
            return regimes.regime(layer);
        }
    }
}
