package dev.deadwatch.reads;

import ai.djl.ndarray.NDManager;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.FeatureAxes;
import dev.deadwatch.capture.ModelProbe;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * One snapshot as the reads see it: the model bound to its probe batch, the step, the training
 * loss, the activations of every tapped layer (recorded by one forward pass, on first use), the
 * results of the reads that ran before, and the monitor's budget. Not thread-safe: one suite
 * run uses it on one thread, then closes it.
 *
 * <p>{@link #detach()} hands what was captured (the activations, the arrays kept in
 * {@link #keep()}) to a context without the model, on which the rest of {@linkplain SplitRead split
 * reads} runs on another thread: its {@link #probe()} throws.
 */
public final class ReadContext implements AutoCloseable {

    private final ModelProbe probe;
    private final long step;
    private final Loss loss;
    private final List<String> layers;
    private final Predicate<String> due;
    private final LongPredicate fits;
    private final Map<String, Integer> featureAxes;
    private final List<Object> results = new ArrayList<>();
    private final Set<String> abandoned = new LinkedHashSet<>();
    private final BlockPaths paths;
    private final boolean detached;
    private RecordedActivations activations;
    private NDManager keep;
    private boolean restsDeferred;

    /**
     * @param probe the model on the probe batch
     * @param step training step of the snapshot
     * @param loss the training loss, or {@code null} when none is known (reads that need it do not apply)
     * @param layers the tapped layers, in forward order
     * @param due whether a read (by name) is due on this snapshot
     * @param fits given the nanoseconds a read still needs, whether the monitor's budget allows them
     */
    public ReadContext(ModelProbe probe, long step, Loss loss, List<String> layers, Predicate<String> due,
            LongPredicate fits) {
        this(probe, step, loss, layers, Map.of(), due, fits);
    }

    /**
     * @param probe the model on the probe batch
     * @param step training step of the snapshot
     * @param loss the training loss, or {@code null} when none is known (reads that need it do not apply)
     * @param layers the tapped layers, in forward order
     * @param axisOverrides layer → feature axis, for layers {@link FeatureAxes}' rule gets wrong
     * @param due whether a read (by name) is due on this snapshot
     * @param fits given the nanoseconds a read still needs, whether the monitor's budget allows them
     */
    public ReadContext(ModelProbe probe, long step, Loss loss, List<String> layers, Map<String, Integer> axisOverrides,
            Predicate<String> due, LongPredicate fits) {
        this.probe = Objects.requireNonNull(probe, "probe");
        this.step = step;
        this.loss = loss;
        this.layers = List.copyOf(layers);
        this.due = Objects.requireNonNull(due, "due");
        this.fits = Objects.requireNonNull(fits, "fits");
        this.featureAxes = FeatureAxes.of(probe.paths(), this.layers, axisOverrides);
        this.paths = probe.paths();
        this.detached = false;
    }

    /** The detached copy of {@code from}: its captured arrays, not its model. */
    private ReadContext(ReadContext from) {
        this.probe = null;
        this.step = from.step;
        this.loss = from.loss;
        this.layers = from.layers;
        this.due = from.due;
        this.fits = from.fits;
        this.featureAxes = from.featureAxes;
        this.paths = from.paths;
        this.detached = true;
        this.activations = from.activations;
        this.keep = from.keep;
        from.activations = null;
        from.keep = null;
    }

    /**
     * Hands the recorded activations and the arrays kept in {@link #keep()} to a new context
     * without the model (and without the results added so far); this one keeps neither.
     *
     * @return the detached context, to close when its reads are done (on any thread)
     */
    public ReadContext detach() {
        return new ReadContext(this);
    }

    /**
     * Says the rests of the split reads will run later, on the {@linkplain #detach() detached}
     * context, while the model moves on (the captures run on the training thread between steps):
     * a capture then keeps what its rest needs rather than doing part of the rest early to free
     * memory, so that training waits for the capture only.
     *
     * @return this context
     */
    public ReadContext deferRests() {
        restsDeferred = true;
        return this;
    }

    /** @return whether the rests run later, on the detached context ({@link #deferRests()}) */
    public boolean restsDeferred() {
        return restsDeferred;
    }

    /** @return whether this context is detached from the model ({@link #detach()}) */
    public boolean detached() {
        return detached;
    }

    /**
     * @return the model bound to its probe batch
     * @throws IllegalStateException on a detached context: the part of a read that runs off the
     *     training thread has no model to use
     */
    public ModelProbe probe() {
        if (detached) {
            throw new IllegalStateException("a detached read context has no model: the part of a split read that"
                    + " runs off the training thread uses only what its capture kept");
        }
        return probe;
    }

    /** @return the model's block paths (structure only: which blocks, their parameters and shapes) */
    public BlockPaths paths() {
        return paths;
    }

    /**
     * A manager for arrays a read captures to use after the model has moved on (on a detached
     * context): it lives as long as this context or the one detached from it.
     *
     * @return the manager (created on first use)
     */
    public NDManager keep() {
        if (keep == null) {
            keep = NDManager.newBaseManager();
            keep.setName("deadwatch-captured");
        }
        return keep;
    }

    /** @return the training step of the snapshot */
    public long step() {
        return step;
    }

    /** @return the training loss, if known */
    public Optional<Loss> loss() {
        return Optional.ofNullable(loss);
    }

    /** @return the tapped layers (every leaf block), in forward order */
    public List<String> layers() {
        return layers;
    }

    /**
     * @param layer a tapped layer
     * @return the feature axis of its output ({@link FeatureAxes})
     */
    public int featureAxis(String layer) {
        return featureAxes.getOrDefault(layer, FeatureAxes.LAST);
    }

    /**
     * One layer's read failed: the layer is skipped on this snapshot, the rest goes on. Recorded
     * as a {@link LayerFailure} result (the monitor counts and logs it).
     *
     * @param layer the layer
     * @param read the read's name
     * @param cause what went wrong
     */
    public void fail(String layer, String read, Throwable cause) {
        add(new LayerFailure(layer, read, cause.toString()));
    }

    /**
     * @param read a read's name
     * @return whether that read is due on this snapshot (the schedule may run some reads less often)
     */
    public boolean due(String read) {
        return due.test(read);
    }

    /**
     * @param nanos time a read still needs
     * @return whether the monitor's budget allows it
     */
    public boolean fits(long nanos) {
        return fits.test(nanos);
    }

    /**
     * The outputs of every tapped layer on the probe batch, recorded the first time they are asked
     * for (by one forward pass, or by passes over groups of samples, {@link RecordedActivations})
     * and shared by the reads after.
     *
     * @return the recorded outputs and first inputs (layer → arrays, per call of the block)
     */
    public RecordedActivations activations() {
        return capture();
    }

    /** @return a manager for temporaries that lives as long as the activations */
    public NDManager scratch() {
        return capture().manager();
    }

    private RecordedActivations capture() {
        if (activations == null) {
            if (detached) {
                throw new IllegalStateException("the activations of a detached read context were not recorded"
                        + " before it was detached, or were released");
            }
            Set<String> all = new LinkedHashSet<>(layers);
            activations = RecordedActivations.record(probe, all, all); // inputs too: what a layer's input lacks
        }
        return activations;
    }

    /** Frees the recorded activations (they are recorded again if asked for). */
    public void releaseActivations() {
        if (activations != null) {
            activations.close();
            activations = null;
        }
    }

    /** @param result a read's result, kept in the order added */
    public void add(Object result) {
        results.add(Objects.requireNonNull(result, "result"));
    }

    /**
     * @param <T> the result type
     * @param type the result type
     * @return the results of that type added so far, in the order added
     */
    public <T> List<T> results(Class<T> type) {
        return ofType(results, type);
    }

    /**
     * @param <T> the result type
     * @param results reads' results
     * @param type the result type
     * @return the results of that type, in their order
     */
    public static <T> List<T> ofType(List<?> results, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Object r : results) {
            if (type.isInstance(r)) {
                out.add(type.cast(r));
            }
        }
        return out;
    }

    /** @return every result added so far */
    public List<Object> results() {
        return Collections.unmodifiableList(results);
    }

    /**
     * Marks a read as stopped before it finished (for example by the budget). The report then
     * says it did not run, and the read must not have added partial results.
     *
     * @param read the read's name
     */
    public void abandon(String read) {
        abandoned.add(read);
    }

    /** @return the reads that stopped before they finished */
    public Set<String> abandoned() {
        return Collections.unmodifiableSet(abandoned);
    }

    @Override
    public void close() {
        releaseActivations();
        if (keep != null) {
            keep.close();
            keep = null;
        }
    }
}
