package dev.deadwatch.export;

import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.BatchNormResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.regime.RegimeChange;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * Owns every meter of the contract in {@code docs/metrics.md}. Each meter is declared once, in
 * {@link #bindTo} or where its label values become known, with its dotted name and description;
 * the Prometheus registry renders the names with underscores and adds {@code _total} to counters
 * and {@code _seconds} to timers. Gauges have no base unit (Prometheus naming would append it to
 * the name), read {@code NaN} until a value is known and hold their state strongly. Per-layer
 * series are {@link RowGauges}, replaced with every read. Every series carries {@code run}
 * and {@code model}.
 *
 * <p>Counters for every label value the contract lists are registered at zero as soon as the
 * layers are known ({@link #registerLayers}), so {@code increase()} works from the first scrape.
 */
public final class DeadwatchMetrics implements MeterBinder, AutoCloseable {

    /** Order labels of {@code deadwatch_directions}. */
    public static final List<String> ORDER_LABELS = List.of("1", "2", "3", "4", "5", "6", "7", "8",
            "gauge", "preasymptotic");
    /** Reasons of {@code deadwatch_reads_skipped_total}. */
    public static final List<String> SKIP_REASONS = List.of("busy", "nonfinite", "error", "budget", "layer");
    /** The {@code eps} labels of {@link Spectrum#PROFILE_EPS}, formatted once rather than per row and read. */
    private static final String[] PROFILE_LABELS =
            java.util.Arrays.stream(Spectrum.PROFILE_EPS).mapToObj(DeadwatchMetrics::epsLabel).toArray(String[]::new);

    private final Tags base;
    private final String run;
    private final String model;
    private volatile BuildInfo info;
    private Meter infoGauge;
    private final List<String> reads;
    private final List<Meter> meters = new ArrayList<>();
    private final List<RowGauges> perLayer = new ArrayList<>();
    private final Value step = new Value();
    private final Value trainLoss = new Value();
    private final Value trainAccuracy = new Value();
    private final Value validationLoss = new Value();
    private final Value validationAccuracy = new Value();
    private final Map<String, Counter> skipped = new LinkedHashMap<>();
    private final Map<String, Timer> readTimers = new ConcurrentHashMap<>();
    private final RegimeMeters regimeMeters = new RegimeMeters();
    private final CensusRows censusRows = new CensusRows();
    private volatile MeterRegistry registry;
    private boolean accuracy;
    private Counter snapshots;
    private Counter snapshotWriteFailures;
    private Timer pause;
    private RowGauges dead;
    private RowGauges deadProfile;
    private RowGauges unresolved;
    private RowGauges structural;
    private RowGauges bnGammaMinAbs;
    private RowGauges bnDeadChannels;
    private RowGauges logDetActive;
    private RowGauges lambdaMin;
    private RowGauges effectiveRank;
    private RowGauges logDetSlope;
    private RowGauges kernelRayleigh;
    private RowGauges kernelAlignment;
    private RowGauges gammaMinAbs;
    private RowGauges extraDead;
    private RowGauges directions;
    private RowGauges orderCandidates;
    private RowGauges lambdaDead;
    private RowGauges layerPrecision;

    /** A gauge's value, {@code NaN} until known (also each row of a {@link RowGauges}). */
    static final class Value {
        volatile double value = Double.NaN;

        double get() {
            return value;
        }
    }

    /**
     * @param run run id label
     * @param model model name label
     * @param info version, engine, precision and eigensolver for {@code deadwatch_info}
     * @param reads the reads whose time is exported ({@code read} label values)
     */
    public DeadwatchMetrics(String run, String model, BuildInfo info, List<String> reads) {
        this.base = Tags.of("run", run, "model", model);
        this.run = run;
        this.model = model;
        this.info = info;
        this.reads = List.copyOf(reads);
    }

    /**
     * @throws IllegalStateException when the registry already holds a run of the same {@code run}
     *     and {@code model}: two monitors would add up each other's counters
     */
    @Override
    public synchronized void bindTo(MeterRegistry reg) {
        if (reg.find("deadwatch.info").tags(base).gauge() != null) {
            throw new IllegalStateException("the registry already holds run '" + run + "' of model '" + model
                    + "': give each monitor its own run id (optRunId)");
        }
        this.registry = reg;
        registerInfo();
        gauge("deadwatch.step", "Training step of the newest completed read.", Tags.empty(), step);
        gauge("deadwatch.train.loss", "Training loss (running mean over the epoch so far).", Tags.empty(), trainLoss);
        gauge("deadwatch.validation.loss", "Validation loss of the last validation pass.", Tags.empty(), validationLoss);
        snapshots = track(Counter.builder("deadwatch.snapshots").description("Snapshots taken.").tags(base).register(reg));
        snapshotWriteFailures = track(Counter.builder("deadwatch.snapshot.write.failures").description("Snapshots not written.").tags(base).register(reg));
        for (String r : SKIP_REASONS) {
            skipped.put(r, track(Counter.builder("deadwatch.reads.skipped").description("Reads not done, by reason.")
                    .tags(base).tag("reason", r).register(reg)));
        }
        reads.forEach(this::readTimer);
        pause = track(Timer.builder("deadwatch.training.pause")
                .description("Time the training thread was held per snapshot.").tags(base).register(reg));
        dead = perLayer("deadwatch.dead.directions", "Headline dead count round(D(eps_dead)) beyond structural kernels.");
        deadProfile = perLayer("deadwatch.dead.directions.profile", "Volume slope D(eps).");
        unresolved = perLayer("deadwatch.directions.unresolved", "Directions the probe cannot resolve (width beyond its rows).");
        structural = perLayer("deadwatch.directions.structural", "Directions the architecture forces, by cause.");
        bnGammaMinAbs = perLayer("deadwatch.batchnorm.gamma.min.abs", "min |gamma_c| of a BatchNorm.");
        bnDeadChannels = perLayer("deadwatch.batchnorm.dead.channels", "BatchNorm channels with |gamma_c| below 1e-3 max |gamma|.");
        logDetActive = perLayer("deadwatch.dds.logdet.active", "Active volume log det+.");
        lambdaMin = perLayer("deadwatch.dds.lambda.min", "Relative lambda_min+.");
        effectiveRank = perLayer("deadwatch.dds.effective.rank", "Effective rank exp(entropy).");
        logDetSlope = perLayer("deadwatch.dds.logdet.slope", "Temporal slope of log det+ per 1000 steps.");
        kernelRayleigh = perLayer("deadwatch.layernorm.kernel.rayleigh", "Relative Rayleigh quotient along gamma^-1.");
        kernelAlignment = perLayer("deadwatch.layernorm.kernel.alignment", "|u . e_min|.");
        gammaMinAbs = perLayer("deadwatch.layernorm.gamma.min.abs", "min |gamma_i|.");
        extraDead = perLayer("deadwatch.layernorm.extra.dead", "Dead directions beyond the kernel.");
        directions = perLayer("deadwatch.directions", "Order-read candidates in each class.");
        orderCandidates = perLayer("deadwatch.order.candidates", "Order-read candidates of a layer: found, and read (a sample).");
        lambdaDead = perLayer("deadwatch.learning.coefficient.dead", "Sum of 1/(2k) over the layer's dead directions.");
        layerPrecision = perLayer("deadwatch.layer.precision", "Bits of the floating-point type a layer is read in.");
    }

    private void registerInfo() {
        Value one = new Value();
        one.value = 1;
        infoGauge = track(Gauge.builder("deadwatch.info", one, Value::get).description("Build and engine identity (always 1).")
                .tags(base).tags("version", info.version(), "engine", info.engine(), "precision", info.precision(),
                        "eigensolver", info.eigensolver())
                .strongReference(true).register(requireRegistry()));
    }

    /**
     * The precision of the reads changed (the float64 replica could not run the model, so it is read
     * in float32): {@code deadwatch_info} says so from now on.
     *
     * @param precision the precision of the reads
     */
    public synchronized void precision(String precision) {
        if (!precision.equals(info.precision())) {
            // the new series first, then the old one goes: a scrape in between sees the run's info
            // twice (old and new precision), never not at all
            Meter old = infoGauge;
            info = new BuildInfo(info.version(), info.engine(), precision, info.eigensolver());
            registerInfo();
            requireRegistry().remove(old);
            synchronized (meters) {
                meters.remove(old);
            }
        }
    }

    /**
     * The precision each layer is read in: 64 on the float64 replica, 32 for a block run in float32
     * inside it (and every layer of a float32 read).
     *
     * @param bits layer → bits of its floating-point type
     */
    public synchronized void layerPrecisions(Map<String, Integer> bits) {
        Map<Tags, Integer> rows = new LinkedHashMap<>();
        bits.forEach((layer, b) -> rows.put(Tags.of("layer", layer), b));
        layerPrecision.set(rows);
    }

    /** Registers the accuracy gauges (only when the trainer has an accuracy evaluator). */
    public synchronized void registerAccuracy() {
        if (!accuracy) {
            accuracy = true;
            gauge("deadwatch.train.accuracy", "Training accuracy (running mean over the epoch so far).",
                    Tags.empty(), trainAccuracy);
            gauge("deadwatch.validation.accuracy", "Validation accuracy of the last validation pass.",
                    Tags.empty(), validationAccuracy);
        }
    }

    /**
     * Registers the per-layer regime counters at zero and the regime gauges at 0.
     *
     * @param layers the model's layer paths
     */
    public synchronized void registerLayers(Collection<String> layers) {
        regimeMeters.register(layers, requireRegistry(), base, this::track);
    }

    /** @param loss training loss @param accuracy training accuracy or NaN */
    public void train(double loss, double accuracy) {
        trainLoss.value = loss;
        trainAccuracy.value = accuracy;
    }

    /** @param loss validation loss @param accuracy validation accuracy or NaN */
    public void validation(double loss, double accuracy) {
        validationLoss.value = loss;
        validationAccuracy.value = accuracy;
    }

    /** Counts a snapshot. */
    public void snapshot() {
        snapshots.increment();
    }

    /** Counts a snapshot folder that could not be written (the reads it holds stand). */
    public void snapshotWriteFailed() {
        snapshotWriteFailures.increment();
    }

    /** @param reason one of {@link #SKIP_REASONS} */
    public void skipped(String reason) {
        Counter c = skipped.get(reason);
        if (c == null) {
            throw new IllegalArgumentException("unknown skip reason '" + reason + "', expected one of " + SKIP_REASONS);
        }
        c.increment();
    }

    /** @param read a read's name @param seconds time spent */
    public void readTime(String read, double seconds) {
        readTimer(read).record((long) (seconds * 1e9), TimeUnit.NANOSECONDS);
    }

    /** @param nanos time the training thread was held */
    public void pause(long nanos) {
        pause.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** @param change a confirmed regime change: its layer's regime number and a count per kind */
    public synchronized void regimeChange(RegimeChange change) {
        registerLayers(List.of(change.layer()));
        regimeMeters.change(change);
    }

    /**
     * Publishes one snapshot's reads: the per-layer series of its DDS, LayerNorm and BatchNorm
     * results, the order classes and {@code λ_dead} of its census (when the order read ran to its
     * end), the time of each read, the layers skipped, and the step.
     *
     * @param report the reads
     * @param slopes {@code layer|side} → temporal slope of {@code log det⁺}
     * @param headline {@code layer|side} → the headline dead count where it is not the DDS read's
     *     own (on the activation side, the census' dead directions when it found more)
     */
    public synchronized void publish(ReadReport report, Map<String, Double> slopes, Map<String, Integer> headline) {
        List<DdsResult> dds = report.dds();
        Function<DdsResult, Tags> side = r -> Tags.of("layer", r.layer(), "side", r.side().label());
        rows(dead, dds, side, r -> r.deadCount() < 0 ? Double.NaN
                : headline.getOrDefault(r.layer() + "|" + r.side().label(), r.deadCount()));
        rows(unresolved, dds, side, DdsResult::unresolved);
        Map<Tags, Integer> causes = new LinkedHashMap<>();
        for (DdsResult r : dds) {
            r.structure().byCause().forEach((cause, n) -> causes.put(side.apply(r).and("cause", cause), n));
        }
        structural.set(causes);
        Map<Tags, Double> profile = new LinkedHashMap<>();
        for (DdsResult r : dds) {
            for (int i = 0; i < Spectrum.PROFILE_EPS.length; i++) {
                profile.put(side.apply(r).and("eps", PROFILE_LABELS[i]), r.profile()[i]);
            }
        }
        deadProfile.set(profile);
        rows(logDetActive, dds, side, DdsResult::logDetActive);
        rows(lambdaMin, dds, side, DdsResult::lambdaMin);
        rows(effectiveRank, dds, side, DdsResult::effectiveRank);
        rows(logDetSlope, dds, side,
                r -> slopes.getOrDefault(r.layer() + "|" + r.side().label(), Double.NaN));
        List<LayerNormResult> norms = report.layerNorms();
        Function<LayerNormResult, Tags> layer = r -> Tags.of("layer", r.layer());
        rows(kernelRayleigh, norms, layer, LayerNormResult::rayleigh);
        rows(kernelAlignment, norms, layer, LayerNormResult::alignment);
        rows(gammaMinAbs, norms, layer, LayerNormResult::gammaMinAbs);
        rows(extraDead, norms, layer, LayerNormResult::extraDead);
        List<BatchNormResult> bns = report.batchNorms();
        Function<BatchNormResult, Tags> bnLayer = r -> Tags.of("layer", r.layer());
        rows(bnGammaMinAbs, bns, bnLayer, BatchNormResult::gammaMinAbs);
        rows(bnDeadChannels, bns, bnLayer, BatchNormResult::deadChannels);
        report.failures().forEach(f -> skipped("layer"));
        if (report.orderRead()) {
            censusRows.update(report.census(), report.orderSamples());
            orderCandidates.set(censusRows.sizes());
            directions.set(censusRows.classes());
            lambdaDead.set(censusRows.lambdaDead());
        }
        report.seconds().forEach(this::readTime);
        step.value = report.step();
    }

    /** @return the eps label, e.g. {@code 1e-4} */
    public static String epsLabel(double eps) {
        return String.format(Locale.ROOT, "1e%d", (int) Math.round(Math.log10(eps)));
    }

    private static <R> void rows(RowGauges g, List<R> results, Function<R, Tags> tags, ToDoubleFunction<R> value) {
        Map<Tags, Double> rows = new LinkedHashMap<>();
        for (R r : results) {
            rows.put(tags.apply(r), value.applyAsDouble(r));
        }
        g.set(rows);
    }

    private void gauge(String name, String description, Tags tags, Value value) {
        track(Gauge.builder(name, value, Value::get).description(description).tags(base.and(tags))
                .strongReference(true).register(requireRegistry()));
    }

    private RowGauges perLayer(String name, String description) {
        RowGauges g = new RowGauges(requireRegistry(), name, description, base);
        perLayer.add(g);
        return g;
    }

    private Timer readTimer(String read) {
        return readTimers.computeIfAbsent(read, r -> track(Timer.builder("deadwatch.read").description("Time per read.")
                .tags(base).tag("read", r).register(requireRegistry())));
    }

    /** Remembers a registered meter, so {@link #close()} can remove it; @return the meter */
    private <M extends Meter> M track(M meter) {
        synchronized (meters) {
            meters.add(meter);
        }
        return meter;
    }

    private MeterRegistry requireRegistry() {
        MeterRegistry reg = registry;
        if (reg == null) {
            throw new IllegalStateException("DeadwatchMetrics is not bound to a registry");
        }
        return reg;
    }

    /** Removes every meter this binder registered. */
    @Override
    public synchronized void close() {
        MeterRegistry reg = registry;
        if (reg == null) {
            return;
        }
        for (RowGauges g : perLayer) {
            g.clear();
        }
        synchronized (meters) {
            meters.forEach(reg::remove);
            meters.clear();
        }
    }
}
