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
import java.util.function.Function;
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

    /** {@link #activationGroupBytes}: no limit, every layer in one recording the reads share (the default). */
    public static final long ONE_RECORDING = Long.MAX_VALUE;

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
    private ActivationPlan plan;
    private long groupBytes = ONE_RECORDING;
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
        this.groupBytes = from.groupBytes;
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

    /**
     * How the activation side records the layers ({@link ActivationPlan}): planned from one
     * sample's pass when the model is at hand and the rests run now; else, or when every layer
     * fits in one group, one recording shared by the reads ({@link #activations()}).
     *
     * @return the plan (made on first use)
     */
    ActivationPlan activationPlan() {
        if (plan == null) {
            if (groupBytes != ONE_RECORDING && activations == null && !detached && !restsDeferred) {
                ActivationPlan p = ActivationPlan.of(probe, layers,
                        layer -> LayerStructure.dependsOnInput(paths.blockAt(layer)), groupBytes);
                if (p.grouped()) {
                    plan = p;
                    return plan;
                }
            }
            plan = ActivationPlan.whole(layers, capture());
        }
        return plan;
    }

    /**
     * Runs {@code body} on recorded activations holding the outputs of {@code outputsOf} and the
     * first inputs of {@code inputsOf}: the recording the reads share when there is one (or the
     * {@linkplain #activationPlan() plan} makes one), else a recording of these layers alone,
     * made for {@code body} and freed after it.
     *
     * @param <T> what {@code body} returns
     * @param outputsOf layers whose outputs {@code body} reads
     * @param inputsOf layers whose first input {@code body} reads
     * @param body what reads them (its arrays must not outlive it)
     * @return what {@code body} returned
     */
    <T> T withActivations(Set<String> outputsOf, Set<String> inputsOf, Function<RecordedActivations, T> body) {
        if (activations != null || !activationPlan().grouped()) {
            return body.apply(capture());
        }
        try (RecordedActivations alone = plan.record(probe(), outputsOf, inputsOf, groupBytes)) {
            return body.apply(alone);
        }
    }

    /**
     * {@link #withActivations} on one group of the {@linkplain #activationPlan() plan}: its layers'
     * outputs and the inputs the plan names.
     *
     * @param <T> what {@code body} returns
     * @param group one of the plan's groups
     * @param body what reads it (its arrays must not outlive it)
     * @return what {@code body} returned
     */
    <T> T withGroup(List<String> group, Function<RecordedActivations, T> body) {
        return withActivations(new LinkedHashSet<>(group), activationPlan().inputsOf(group), body);
    }

    /**
     * Bounds what the activation side holds at once where the rests run right after their
     * captures (not {@linkplain #deferRests() deferred}): when recording every tapped layer would
     * hold more than {@code bytes}, the DDS read records and reads the layers in consecutive groups
     * of at most that much each (a forward pass per group, planned from one sample's), and the
     * LayerNorm read records the norms' outputs alone. A group's forward pass runs over as many
     * samples as hold at most {@code bytes} of intermediates (one sample's taken as what recording
     * every layer holds for it, {@link ActivationPlan#bytesPerSample()}): the activation side then
     * holds at most twice {@code bytes} at any time. The default, {@link #ONE_RECORDING}, records
     * every layer once for all the reads: the fastest, and the most memory held.
     *
     * @param bytes recorded bytes a group holds at most, at least 1, or {@link #ONE_RECORDING}
     * @return this context
     */
    public ReadContext activationGroupBytes(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("activation group bytes must be >= 1, got " + bytes);
        }
        groupBytes = bytes;
        return this;
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
