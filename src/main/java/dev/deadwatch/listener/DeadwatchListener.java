package dev.deadwatch.listener;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.export.MetricsOutput;
import dev.deadwatch.monitor.PendingReads;
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
 * <p>The training thread only copies the parameters ({@link SnapshotTaker}); a background worker
 * ({@link ReadWorker}) checks the copies finite and reads them, on a float64 replica (with a block
 * factory) or in float32 on the model's own blocks with the copies bound in place. A model read on
 * itself instead runs what needs the model (forward and backward passes, the order read) on the
 * training thread between steps, every perturbation undone bit-exactly, and the rest on the worker
 * ({@link PendingReads}). {@link ReadSchedule} keeps reads within the budget, {@link ReportPublisher}
 * publishes them, {@link TrainingScores} samples loss and accuracy, {@link SnapshotFiles} writes them.
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
    private Handover handover;
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
    private final OrderClock orderClock;

    DeadwatchListener(MonitorSettings settings, MetricsOutput output) {
        this.settings = settings;
        this.output = output;
        this.runId = settings.runId() != null ? settings.runId() : UUID.randomUUID().toString().substring(0, 8);
        this.orderClock = new OrderClock(settings.readObserver());
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
        suite = new ReadSuite(settings.reads(), orderClock, settings.featureAxes()).withActivationGroups(ReadSuite.LIVE_ACTIVATION_GROUP_BYTES);
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
        handover = new Handover(ReadWorker.forTraining(schedule.budgeted(), settings.trimNativeMemory()), schedule, metrics);
        handover.worker().whenIdle(taker::beforeRead, taker::whenIdle);
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
        boolean wait = finalRead || settings.waitForReads();
        if (!wait && (handover.full() || !taker.roomForCopies())) {
            // the worker is on an earlier snapshot with another waiting, or has no set of copies free: not copied
            handover.dropped();
            handover.pause(t0);
            return;
        }
        if (!settings.replica() && !taker.readsOnCopies()) {
            onModel(t0, at, withOrder, wait);
            return;
        }
        // the training thread only copies the parameters; the worker checks them finite and runs every
        // read, the Fisher side's forward and backward included, on the float64 replica or on the copies
        StagedParameters staged = taker.copyParameters();
        taker.publishPrecision(metrics); // deadwatch_info and each layer's precision tell the truth
        double[] sc = scores.all();
        byte[] parameters;
        try {
            parameters = settings.replica() ? null : files.parametersOf(trainer.getModel().getBlock()); // as copied
        } catch (RuntimeException e) {
            taker.discard(staged);
            throw e;
        }
        long held = handover.pause(t0);
        Runnable job = () -> guard("read", () -> analyse(at, staged, withOrder, sc, held, parameters));
        if (!handover.hand(job, wait, !finalRead)) {
            taker.discard(staged);
        }
    }

    /**
     * Without a replica, float32 on the model itself: the training thread runs what needs the
     * model (the forward and backward passes the reads capture, the order read), the worker the
     * rest (matrices and eigendecompositions), so training is held for the capture only.
     */
    private void onModel(long t0, long at, boolean withOrder, boolean wait) {
        Optional<String> nonFinite = taker.firstNonFinite();
        if (nonFinite.isPresent()) {
            nonFinite(nonFinite.get(), at);
            handover.pause(t0);
            return;
        }
        taker.publishPrecision(metrics);
        double[] sc = scores.all();
        ModelProbe model = taker.onModel();
        PendingReads pending = suite.capture(model, at, trainer.getLoss(),
                read -> withOrder || !CensusRead.NAME.equals(read), schedule::fits);
        byte[] parameters;
        try {
            parameters = files.parametersOf(model.block()); // the model trains on while the worker reads
        } catch (RuntimeException e) {
            pending.close();
            throw e;
        }
        if (withOrder && !pending.ran(CensusRead.NAME)) {
            skip("budget"); // stopped after its first candidate: the rest would not fit
        }
        long held = handover.pause(t0);
        long order = (long) (pending.capturedSeconds(CensusRead.NAME) * 1e9);
        Runnable job = () -> guard("read", () -> {
            try (pending) {
                long w0 = ReadWorker.clock();
                ReadReport report = pending.finish();
                long worked = (long) ((ReadWorker.clock() - w0) * handover.worker().charge());
                schedule.charge(worked);
                schedule.cost(held + worked, order, report.orderRead());
                publisher.publish(report, sc);
                files.write(report, model, taker.probe(), parameters);
            }
        });
        if (!handover.hand(job, wait, !finalRead)) {
            pending.close();
        }
    }

    /** A snapshot of a model that is not finite: counted, and said once, naming the first such parameter. */
    private void nonFinite(String parameter, long at) {
        skip("nonfinite");
        log.once("nonfinite", "deadwatch: parameter {} of the model is not finite at step {}: its snapshots are not"
                + " read (counted as reads_skipped_total{reason=\"nonfinite\"}) until it is", parameter, at);
    }

    // ------------------------------------------------------------------ read worker

    /**
     * Runs a snapshot's reads on the worker: on the replica, loaded from the copies, or (without
     * one) on the model's blocks with the copies bound in place of its parameters.
     */
    private void analyse(long at, StagedParameters staged, boolean withOrder, double[] sc, long held,
            byte[] parameters) throws IOException {
        long t0 = ReadWorker.clock();
        Optional<String> nonFinite = taker.nonFiniteCopy(staged); // given back if so
        if (nonFinite.isPresent()) {
            nonFinite(nonFinite.get(), at);
            return;
        }
        boolean copies = !settings.replica();
        ModelProbe on = copies ? taker.onCopies(staged) : taker.onReplica(staged); // each keeps staged on failure
        ReadReport report;
        try {
            report = suite.read(on, at, trainer.getLoss(), read -> withOrder || !CensusRead.NAME.equals(read),
                    schedule::fits);
        } finally {
            if (copies) {
                taker.release(staged);
            }
        }
        if (withOrder && !report.orderRead()) {
            skip("budget"); // stopped after its first candidate: the rest would not fit
        }
        long end = ReadWorker.clock();
        double charge = handover.worker().charge();
        long worked = (long) ((end - t0) * charge);
        long order = withOrder && orderClock.start() >= t0 ? (long) ((end - orderClock.start()) * charge) : 0;
        schedule.charge(worked);
        schedule.cost(held + worked, order, report.orderRead());
        publisher.publish(report, sc);
        files.write(report, on, taker.probe(), parameters); // never throws: a failed write is counted, the reads stand
    }

    // ------------------------------------------------------------------ plumbing

    private void guard(String where, ThrowingAction action) {
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
        if (handover != null && !handover.worker().stopped()) {
            handover.worker().drain();
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

    /** Waits until the worker has finished every read handed to it so far (for tests). */
    void awaitWorker() throws InterruptedException {
        handover.worker().awaitIdle();
    }

    /** @return what a second of the worker's CPU time counts against the budget */
    double workerCharge() {
        return handover == null ? 1 : handover.worker().charge();
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
