package dev.deadwatch.listener;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.export.MetricsOutput;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a DJL training run: snapshots the model every {@code interval} steps, runs the reads
 * (DDS and LayerNorm every snapshot, the order read every {@code orderEvery} snapshots), exports
 * the series of {@code docs/metrics.md}, and confirms regime changes.
 *
 * <p>With a block factory the reads run on a float64 replica on a background worker
 * ({@link ReadWorker}), and the training thread only copies the parameters ({@link SnapshotTaker}).
 * Without one they run in float32 on the model itself, on the training thread, between steps;
 * every perturbation is undone bit-exactly. {@link ReadSchedule} decides when to read within the
 * budget, {@link ReportPublisher} turns each read into metrics, regimes and the timeline,
 * {@link TrainingScores} samples the trainer's loss and accuracy, {@link SnapshotFiles} writes the
 * snapshots.
 *
 * <p>Never throws into DJL: every callback catches, counts {@code reads_skipped_total{reason=error}}
 * and logs once per cause. A monitor that cannot start (its run already in a shared registry, say)
 * logs why and switches itself off; training goes on. An endpoint that cannot be bound fails
 * {@link DeadwatchListenerBuilder#build()} instead, before training starts.
 */
public final class DeadwatchListener extends TrainingListenerAdapter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);

    private final MonitorSettings settings;
    private final String runId;
    private final OnceLog log = new OnceLog();
    private final ReadSchedule schedule;
    private final TrainingScores scores = new TrainingScores(System::nanoTime);

    private Trainer trainer;
    private SnapshotTaker taker;
    private ReadWorker worker;
    private ReadSuite suite;
    private DeadwatchMetrics metrics;
    private final MetricsOutput output;
    private ReportPublisher publisher;
    private SnapshotFiles files = SnapshotFiles.NONE;
    private boolean begun;
    private boolean off;
    private boolean ended;
    private boolean finalRead;
    private long step;
    /** The worker's clock ({@link ReadWorker#clock()}) when its last order read started. */
    private volatile long orderStartClock = Long.MIN_VALUE;

    DeadwatchListener(MonitorSettings settings, MetricsOutput output) {
        this.settings = settings;
        this.output = output;
        this.runId = settings.runId() != null ? settings.runId() : UUID.randomUUID().toString().substring(0, 8);
        this.schedule = new ReadSchedule(settings.interval(), settings.maxInterval(), settings.orderEvery(),
                settings.budget(), System::nanoTime);
    }

    /** @return a builder with the defaults documented on its methods */
    public static DeadwatchListenerBuilder builder() {
        return new DeadwatchListenerBuilder();
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
        guard("validation", () -> scores.onValidationBatch(trainer, batchData));
    }

    @Override
    public void onEpoch(Trainer trainer) {
        guard("epoch", () -> {
            if (scores.onEpoch() && metrics != null) {
                double[] v = scores.validation();
                metrics.validation(v[0], v[1]);
            }
        });
    }

    @Override
    public void onTrainingEnd(Trainer trainer) {
        guard("end", () -> {
            // the final state is always read, whatever the budget or interval left unread
            if (begun && !off && !ended) {
                taker.completeProbe(); // training shorter than the probe's collection: what there is
            }
            if (begun && !off && !ended && taker.hasProbe() && schedule.unread(step)) {
                finalRead = true;
                snapshot(schedule.orderDue());
            }
            drain();
        });
    }

    // ------------------------------------------------------------------ wiring

    private void begin(Trainer t) throws IOException {
        if (begun) {
            return; // one listener watches one run
        }
        begun = true;
        off = true; // until every part is up: a failure here leaves the monitor off, not half-built
        trainer = t;
        taker = new SnapshotTaker(settings, t.getModel().getBlock(), t.getLoss());
        suite = new ReadSuite(settings.reads(), read -> {
            if (CensusRead.NAME.equals(read)) {
                orderStartClock = ReadWorker.clock(); // to split a worker read's cost into its order read and the rest
            }
            settings.readObserver().beforeRead(read);
        }, settings.featureAxes());
        String model = t.getModel().getName() == null ? "model" : t.getModel().getName();
        metrics = new DeadwatchMetrics(runId, model, BuildInfo.of(settings.precision()), suite.names());
        metrics.bindTo(output.registry());
        if (TrainingScores.hasAccuracy(t)) {
            metrics.registerAccuracy();
        }
        metrics.registerLayers(ReadSuite.tappedLayers(BlockPaths.of(t.getModel().getBlock())));
        if (output.port() >= 0) {
            LOG.info("deadwatch: serving metrics on http://{}:{}/metrics (run {})", settings.host(), output.port(), runId);
        }
        publisher = new ReportPublisher(metrics, settings, log);
        files = SnapshotFiles.of(settings, runId, model, t.getLoss(), metrics, log);
        if (settings.replica()) {
            // whether training leaves the worker a core: read on the training thread, whose engine
            // (intra-op) thread count is what its steps use; unknown on other engines, taken as none
            int trainingThreads = GradMode.threadsOfThisThread();
            int cores = Runtime.getRuntime().availableProcessors();
            double charge = ReadWorker.chargeFor(schedule.budgeted(), trainingThreads, cores);
            if (charge > 1) {
                LOG.info("deadwatch: training uses {} engine threads on {} cores, none free for reads: the read"
                        + " worker yields to training and its CPU time counts {}x against the budget",
                        trainingThreads, cores, charge);
            }
            worker = new ReadWorker(schedule.budgeted(), charge);
        }
        schedule.start();
        off = false;
    }

    // ------------------------------------------------------------------ training thread

    private void batch(Trainer t, BatchData data) throws IOException {
        if (!begun) {
            begin(t);
        }
        if (off) {
            return;
        }
        step++;
        if (scores.onTrainingBatch(t, data, step == 1 || schedule.isSnapshotStep(step))) {
            double[] tr = scores.train();
            metrics.train(tr[0], tr[1]);
        }
        if (!taker.observe(data, schedule.isSnapshotStep(step))) {
            return; // the probe is still being collected from the first batches (or cannot be made)
        }
        ReadSchedule.Decision d = schedule.decide(step);
        for (int i = 0; i < d.budgetSkips(); i++) {
            skip("budget");
        }
        if (d.action() == ReadSchedule.Action.READ) {
            snapshot(d.withOrder());
        }
    }

    private void snapshot(boolean withOrder) throws IOException {
        long t0 = System.nanoTime();
        schedule.taken(step, withOrder);
        metrics.snapshot();
        long at = step;
        if (!settings.replica()) {
            // float32 on the model itself, here, between steps
            Optional<String> nonFinite = taker.firstNonFinite();
            if (nonFinite.isPresent()) {
                nonFinite(nonFinite.get(), t0);
                return;
            }
            taker.publishPrecision(metrics);
            double[] sc = scores.all();
            ReadReport report = readOn(taker.onModel(), at, withOrder);
            long order = withOrder ? (long) (report.seconds().getOrDefault(CensusRead.NAME, 0.0) * 1e9) : 0;
            schedule.cost(pause(t0), order, report.orderRead());
            finish(report, sc, taker.onModel());
            return;
        }
        boolean wait = finalRead || settings.waitForReads();
        if (!wait && worker.full()) {
            // the worker is still on an earlier snapshot with another waiting: not even copied
            dropped();
            pause(t0);
            return;
        }
        // the training thread only copies the parameters; every read, the Fisher side's forward
        // and backward included, runs on the worker on the float64 replica
        Optional<List<double[]>> values = taker.copyParameters();
        if (values.isEmpty()) {
            nonFinite(taker.firstNonFinite().orElse("?"), t0);
            return;
        }
        taker.publishPrecision(metrics); // deadwatch_info and each layer's precision tell the truth
        double[] sc = scores.all();
        long held = pause(t0);
        Runnable job = () -> guard("read", () -> analyse(at, values.get(), withOrder, sc, held));
        try {
            long t1 = System.nanoTime();
            if (!worker.submit(job, wait)) {
                dropped();
            } else if (wait && !finalRead) {
                pause(t1); // waiting for a free place holds training: it is a pause like any other
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            skip("busy");
        }
    }

    /** A snapshot of a model that is not finite: counted, and said once, naming the first such parameter. */
    private void nonFinite(String parameter, long t0) {
        skip("nonfinite");
        log.once("nonfinite", "deadwatch: parameter {} of the model is not finite at step {}: its snapshots are not"
                + " read (counted as reads_skipped_total{reason=\"nonfinite\"}) until it is", parameter, step);
        pause(t0);
    }

    /** A snapshot dropped because the worker is still reading (see {@link ReadSchedule#dropped()}). */
    private void dropped() {
        skip("busy");
        schedule.dropped();
    }

    /** Ends a training-thread pause begun at {@code t0}; @return its length, ns */
    private long pause(long t0) {
        long d = System.nanoTime() - t0;
        schedule.charge(d);
        metrics.pause(d);
        return d;
    }

    // ------------------------------------------------------------------ read worker

    private void analyse(long at, List<double[]> values, boolean withOrder, double[] sc, long held)
            throws IOException {
        long t0 = ReadWorker.clock();
        ModelProbe replica = taker.onReplica(values);
        ReadReport report = readOn(replica, at, withOrder);
        long end = ReadWorker.clock();
        long worked = (long) ((end - t0) * worker.charge());
        long order = withOrder && orderStartClock >= t0 ? (long) ((end - orderStartClock) * worker.charge()) : 0;
        schedule.charge(worked);
        schedule.cost(held + worked, order, report.orderRead());
        finish(report, sc, replica);
    }

    /** Every read of one snapshot, the order read only when due and within the budget. */
    private ReadReport readOn(ModelProbe probe, long at, boolean withOrder) {
        ReadReport report = suite.read(probe, at, trainer.getLoss(),
                read -> withOrder || !CensusRead.NAME.equals(read), schedule::fits);
        if (withOrder && !report.orderRead()) {
            skip("budget"); // stopped after its first candidate: the rest would not fit
        }
        return report;
    }

    private void finish(ReadReport report, double[] sc, ModelProbe on) {
        publisher.publish(report, sc);
        files.write(report, on, taker.probe()); // never throws: a failed write is counted, the reads stand
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
                log.warn(where, e);
            } catch (Throwable ignored) {
                // nothing left to do safely
            }
        }
    }

    private void skip(String reason) {
        if (metrics != null) {
            metrics.skipped(reason);
        }
    }

    /** Waits for the worker to finish the queued reads (at most 60 s). */
    public void drain() {
        ended = true;
        if (worker != null && !worker.stopped()) {
            worker.drain();
        }
    }

    /** Stops the worker and the endpoint, removes its meters (a given registry stays open), frees its native arrays. */
    @Override
    public void close() {
        drain();
        output.close();
        if (metrics != null) {
            metrics.close();
        }
        files.close();
        if (taker != null) {
            taker.close();
        }
    }

    // ------------------------------------------------------------------ state

    /** @return the settings this listener was built with */
    public MonitorSettings settings() {
        return settings;
    }

    /** @return the run id (the {@code run} label) */
    public String runId() {
        return runId;
    }

    /** @return the newest completed reads (at most {@code optTimelineSize}), in step order */
    public List<TimelineRow> timeline() {
        return publisher == null ? List.of() : publisher.timeline();
    }

    /** @return the metrics endpoint's port (bound by {@code build()}), or -1 without an endpoint */
    public int port() {
        return output.port();
    }

    /** @return the Prometheus registry of the built-in endpoint, or {@code null} */
    public PrometheusMeterRegistry prometheusRegistry() {
        return output.prometheus();
    }

    /** @return what a second of the worker's CPU time counts against the budget */
    double workerCharge() {
        return worker == null ? 1 : worker.charge();
    }

    /** @return the current snapshot interval in steps (grows when the budget is exceeded) */
    public int interval() {
        return schedule.interval();
    }

    /** @return the number of snapshots taken */
    public long snapshots() {
        return schedule.snapshots();
    }

    /** @return the training steps seen */
    public long steps() {
        return step;
    }

    /** @return the regime number of a layer */
    public int regime(String layer) {
        return publisher == null ? 0 : publisher.regime(layer);
    }
}
