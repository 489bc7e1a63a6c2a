package dev.deadwatch.export;

import dev.deadwatch.census.Census;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.regime.ChangeKind;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Owns every meter of the METRICS.md contract. Names are dotted ({@code deadwatch.dead.directions});
 * the Prometheus registry renders them with underscores and adds {@code _total} to counters and
 * {@code _seconds} to timers. Every series carries {@code run} and {@code model}. Gauges hold
 * their state strongly and read {@code NaN} until a value is known.
 *
 * <p>Counters for every label value METRICS.md lists are registered at zero as soon as the
 * layers are known ({@link #registerLayers}), so {@code increase()} works from the first scrape.
 */
public final class DeadwatchMetrics implements MeterBinder, AutoCloseable {

    /** Order labels of {@code deadwatch_directions}. */
    public static final List<String> ORDER_LABELS = List.of("1", "2", "3", "4", "5", "6", "7", "8",
            "gauge", "preasymptotic");
    /** Reasons of {@code deadwatch_reads_skipped_total}. */
    public static final List<String> SKIP_REASONS = List.of("busy", "nonfinite", "error", "budget");
    /** Reads of {@code deadwatch_read_seconds}. */
    public static final List<String> READS = List.of("layernorm", "dds", "fisher", "order");

    private final Tags base;
    private final String version;
    private final String engine;
    private final String precision;
    private final Map<String, Holder> gauges = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final List<Meter> meters = new ArrayList<>();
    private volatile MeterRegistry registry;

    /** A mutable double a gauge reads. */
    static final class Holder {
        volatile double value = Double.NaN;

        double get() {
            return value;
        }
    }

    /**
     * @param run run id label
     * @param model model name label
     * @param version deadwatch version
     * @param engine engine name and version
     * @param precision precision of the reads
     */
    public DeadwatchMetrics(String run, String model, String version, String engine, String precision) {
        this.base = Tags.of("run", run, "model", model);
        this.version = version;
        this.engine = engine;
        this.precision = precision;
    }

    @Override
    public synchronized void bindTo(MeterRegistry reg) {
        this.registry = reg;
        gauge("deadwatch.info", "Build and engine identity (always 1).",
                Tags.of("version", version, "engine", engine, "precision", precision)).value = 1;
        gauge("deadwatch.step", "Training step of the newest completed read.", Tags.empty());
        gauge("deadwatch.train.loss", "Training loss (running mean over the epoch so far).", Tags.empty());
        gauge("deadwatch.validation.loss", "Validation loss of the last validation pass.", Tags.empty());
        counter("deadwatch.snapshots", "Snapshots taken.", Tags.empty());
        for (String r : SKIP_REASONS) {
            counter("deadwatch.reads.skipped", "Reads not done, by reason.", Tags.of("reason", r));
        }
        for (String r : READS) {
            timer("deadwatch.read", "Time per read.", Tags.of("read", r));
        }
        timer("deadwatch.training.pause", "Time the training thread was held per snapshot.", Tags.empty());
    }

    /**
     * Registers the accuracy gauges (only when the trainer has an accuracy evaluator).
     */
    public void registerAccuracy() {
        gauge("deadwatch.train.accuracy", "Training accuracy (running mean over the epoch so far).", Tags.empty());
        gauge("deadwatch.validation.accuracy", "Validation accuracy of the last validation pass.", Tags.empty());
    }

    /**
     * Registers the per-layer counters at zero and the regime gauges.
     *
     * @param layers the model's layer paths
     */
    public void registerLayers(Collection<String> layers) {
        for (String layer : layers) {
            for (ChangeKind k : ChangeKind.values()) {
                counter("deadwatch.regime.changes", "Confirmed regime changes.",
                        Tags.of("layer", layer, "kind", k.label()));
            }
            gauge("deadwatch.regime", "Regime number, +1 at each confirmed change.", Tags.of("layer", layer)).value = 0;
        }
    }

    /** @param step training step of the newest completed read */
    public void step(long step) {
        set("deadwatch.step", Tags.empty(), step);
    }

    /** @param loss training loss @param accuracy training accuracy or NaN */
    public void train(double loss, double accuracy) {
        set("deadwatch.train.loss", Tags.empty(), loss);
        setIfRegistered("deadwatch.train.accuracy", Tags.empty(), accuracy);
    }

    /** @param loss validation loss @param accuracy validation accuracy or NaN */
    public void validation(double loss, double accuracy) {
        set("deadwatch.validation.loss", Tags.empty(), loss);
        setIfRegistered("deadwatch.validation.accuracy", Tags.empty(), accuracy);
    }

    /** Counts a snapshot. */
    public void snapshot() {
        counter("deadwatch.snapshots", "Snapshots taken.", Tags.empty()).increment();
    }

    /** @param reason one of {@link #SKIP_REASONS} */
    public void skipped(String reason) {
        if (!SKIP_REASONS.contains(reason)) {
            throw new IllegalArgumentException("unknown skip reason '" + reason + "'");
        }
        counter("deadwatch.reads.skipped", "Reads not done, by reason.", Tags.of("reason", reason)).increment();
    }

    /** @param read one of {@link #READS} @param seconds time spent */
    public void readTime(String read, double seconds) {
        timer("deadwatch.read", "Time per read.", Tags.of("read", read))
                .record((long) (seconds * 1e9), TimeUnit.NANOSECONDS);
    }

    /** @param nanos time the training thread was held */
    public void pause(long nanos) {
        timer("deadwatch.training.pause", "Time the training thread was held per snapshot.", Tags.empty())
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** @param layer block path @param kind what changed @param regime the new regime number */
    public void regimeChange(String layer, ChangeKind kind, int regime) {
        counter("deadwatch.regime.changes", "Confirmed regime changes.",
                Tags.of("layer", layer, "kind", kind.label())).increment();
        regime(layer, regime);
    }

    /** @param layer block path @param regime current regime number */
    public void regime(String layer, int regime) {
        set("deadwatch.regime", Tags.of("layer", layer), regime);
    }

    /**
     * Publishes one snapshot's reads.
     *
     * @param report the reads
     * @param slopes {@code layer|side} → temporal slope of {@code log det⁺}
     */
    public void publish(ReadReport report, Map<String, Double> slopes) {
        for (DdsResult r : report.dds()) {
            Tags t = Tags.of("layer", r.layer(), "side", r.side().label());
            set("deadwatch.dead.directions", "Headline dead count round(D(eps_dead)) beyond structural kernels.",
                    t, r.deadCount() < 0 ? Double.NaN : r.deadCount());
            for (int i = 0; i < Spectrum.PROFILE_EPS.length; i++) {
                set("deadwatch.dead.directions.profile", "Volume slope D(eps).",
                        t.and("eps", epsLabel(Spectrum.PROFILE_EPS[i])), r.profile()[i]);
            }
            set("deadwatch.dds.logdet.active", "Active volume log det+.", t, r.logDetActive());
            set("deadwatch.dds.lambda.min", "Relative lambda_min+.", t, r.lambdaMin());
            set("deadwatch.dds.effective.rank", "Effective rank exp(entropy).", t, r.effectiveRank());
            set("deadwatch.dds.logdet.slope", "Temporal slope of log det+ per 1000 steps.", t,
                    slopes.getOrDefault(r.layer() + "|" + r.side().label(), Double.NaN));
        }
        for (LayerNormResult r : report.layerNorms()) {
            Tags t = Tags.of("layer", r.layer());
            set("deadwatch.layernorm.kernel.rayleigh", "Relative Rayleigh quotient along gamma^-1.", t, r.rayleigh());
            set("deadwatch.layernorm.kernel.alignment", "|u . e_min|.", t, r.alignment());
            set("deadwatch.layernorm.gamma.min.abs", "min |gamma_i|.", t, r.gammaMinAbs());
            set("deadwatch.layernorm.extra.dead", "Dead directions beyond the kernel.", t, r.extraDead());
        }
        if (report.orderRead()) {
            for (Map.Entry<String, Census> e : report.census().entrySet()) {
                Tags t = Tags.of("layer", e.getKey());
                for (String label : ORDER_LABELS) {
                    set("deadwatch.directions", "Order-read candidates in each class.",
                            t.and("order", label), 0);
                }
                Map<String, Integer> counts = new java.util.HashMap<>();
                for (OrderResult r : report.orders()) {
                    if (r.layer().equals(e.getKey())) {
                        counts.merge(r.orderLabel(), 1, Integer::sum);
                    }
                }
                counts.forEach((label, n) -> set("deadwatch.directions", "Order-read candidates in each class.",
                        t.and("order", label), n));
                set("deadwatch.learning.coefficient.dead", "Sum of 1/(2k) over the layer's dead directions.",
                        t, e.getValue().lambdaDead());
            }
        }
        step(report.step());
    }

    /** @return the eps label, e.g. {@code 1e-4} */
    public static String epsLabel(double eps) {
        return String.format(Locale.ROOT, "1e%d", (int) Math.round(Math.log10(eps)));
    }

    private void set(String name, Tags tags, double value) {
        Holder h = gauges.get(key(name, tags));
        if (h == null) {
            throw new IllegalStateException("gauge " + name + tags + " is not registered");
        }
        h.value = value;
    }

    private void setIfRegistered(String name, Tags tags, double value) {
        Holder h = gauges.get(key(name, tags));
        if (h != null) {
            h.value = value;
        }
    }

    private void set(String name, String description, Tags tags, double value) {
        gauge(name, description, tags).value = value;
    }

    private static String key(String name, Tags tags) {
        return name + tags;
    }

    private Holder gauge(String name, String description, Tags tags) {
        return gauges.computeIfAbsent(key(name, tags), k -> {
            Holder h = new Holder();
            track(Gauge.builder(name, h, Holder::get).description(description)
                    .tags(base.and(tags)).strongReference(true).register(requireRegistry()));
            return h;
        });
    }

    private Counter counter(String name, String description, Tags tags) {
        return counters.computeIfAbsent(key(name, tags), k -> track(Counter.builder(name)
                .description(description).tags(base.and(tags)).register(requireRegistry())));
    }

    private Timer timer(String name, String description, Tags tags) {
        return timers.computeIfAbsent(key(name, tags), k -> track(Timer.builder(name)
                .description(description).tags(base.and(tags)).register(requireRegistry())));
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
    public void close() {
        MeterRegistry reg = registry;
        if (reg == null) {
            return;
        }
        synchronized (meters) {
            for (Meter m : meters) {
                reg.remove(m);
            }
            meters.clear();
        }
        gauges.clear();
        counters.clear();
        timers.clear();
    }
}
