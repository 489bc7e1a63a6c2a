package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A block bound to the probe batch in one precision: evaluates {@code f(x_1..x_n; w)} for the
 * block's current parameters, and captures activations of sub-blocks. Every array a call creates
 * lives in a scoped sub-manager closed before the call returns (or when the returned
 * {@link Capture} is closed).
 *
 * <p>A block whose parameters are stored narrower than the precision (float16, bfloat16) is read
 * on copies of them in the precision, taken when the probe is made and again by
 * {@link #refresh()}; its own arrays are never written. A read reaches a parameter's values
 * through {@link #parameterArray}, and perturbs and restores them through {@link #save} and
 * {@link #write}.
 *
 * <p>A snapshot's copies of every parameter can be bound ({@link #bind}): until
 * {@link #unbind()} the reads see only them, on any thread, while the model itself trains on.
 * That needs every block to take its parameters from DJL's parameter store, which
 * {@link #parametersOutsideStore()} checks.
 */
public final class ModelProbe implements AutoCloseable {

    private final Block block;
    private final BlockPaths paths;
    private final Precision precision;
    private final OutputMetric metric;
    private final NDManager manager;
    private final NDList inputs;
    private final NDList labels;
    private final int samples;
    private final PromotedParameters promoted;
    private final AtomicLong evaluations = new AtomicLong();

    /**
     * @param block the block the reads run on (the model, or its float64 replica)
     * @param probe the probe batch
     * @param precision the block's precision
     * @param metric the output metric
     */
    public ModelProbe(Block block, ProbeBatch probe, Precision precision, OutputMetric metric) {
        this.block = Objects.requireNonNull(block, "block");
        this.precision = Objects.requireNonNull(precision, "precision");
        this.metric = Objects.requireNonNull(metric, "metric");
        this.paths = BlockPaths.of(block);
        this.manager = probe.inputs().head().getManager().newSubManager();
        this.manager.setName("deadwatch-model-probe");
        this.inputs = ProbeBatch.as(probe.inputs(), precision.dataType(), manager);
        this.labels = ProbeBatch.as(probe.labels(), precision.dataType(), manager);
        this.samples = probe.size();
        try {
            this.promoted = new PromotedParameters(block, precision.dataType(), manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * @return the narrow type (float16, bfloat16) the block stores parameters in that this probe
     *     reads on copies in its precision, or empty
     */
    public Optional<DataType> promotedFrom() {
        return promoted.from();
    }

    /** Copies the block's current parameter values into the copies of promoted parameters (a no-op when none is). */
    public void refresh() {
        promoted.refresh();
    }

    /**
     * @param p a parameter of the block
     * @return the array the reads see for it: its copy when promoted, else its own array
     */
    public NDArray parameterArray(Parameter p) {
        return promoted.arrayOf(p);
    }

    /**
     * @param p a parameter of the block
     * @return the values the reads see for it, widened to float64
     */
    public double[] values(Parameter p) {
        return ParameterState.toDoubles(promoted.arrayOf(p));
    }

    /**
     * Binds copies of the block's parameters (a snapshot's): until {@link #unbind()} every read
     * sees them and every forward pass takes them, and the block's own arrays are neither read
     * nor written. Copies of another floating-point type than the precision are converted, the
     * converted arrays kept until {@link #unbind()}.
     *
     * @param copies one per parameter, in {@code block().getParameters()} order
     * @throws IllegalArgumentException when their number or a shape does not fit the block
     */
    public void bind(List<NDArray> copies) {
        promoted.bind(block, copies, precision.dataType());
    }

    /** Unbinds the copies of {@link #bind}: reads see the block's own parameters again. */
    public void unbind() {
        promoted.unbind();
    }

    /**
     * Runs one forward pass of the probe's first sample (of the whole probe where the model does
     * not run on one) and lists the block's initialized parameters the pass did not take from
     * DJL's parameter store: a block that reads them otherwise (its own
     * {@code Parameter.getArray()}) would not see copies bound with {@link #bind}.
     *
     * @return names of the parameters the store never handed out, in the block's order
     */
    public List<String> parametersOutsideStore() {
        Set<Parameter> requested = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        evaluations.incrementAndGet();
        try (NDManager scoped = manager.newSubManager()) {
            forward(scoped, slice(inputs, 0, 1, scoped), false, requested);
        } catch (RuntimeException oneSample) { // a block that needs more than one sample
            requested.clear();
            try (NDManager scoped = manager.newSubManager()) {
                forward(scoped, copyInto(inputs, scoped), false, requested);
            }
        }
        return PromotedParameters.outside(block, requested);
    }

    /**
     * @param parameters parameters of the block
     * @return the saved state of the arrays the reads see for them
     */
    public ParameterState save(List<Parameter> parameters) {
        return ParameterState.saveArrays(parameters.stream().map(promoted::arrayOf).toList());
    }

    /**
     * Writes values into the arrays the reads see for the given parameters.
     *
     * @param parameters parameters of the block
     * @param values one array of values per parameter
     */
    public void write(List<Parameter> parameters, List<double[]> values) {
        for (int i = 0; i < parameters.size(); i++) {
            ParameterState.write(promoted.arrayOf(parameters.get(i)), values.get(i));
        }
    }

    /** @return the block */
    public Block block() {
        return block;
    }

    /** @return stable paths of the block's sub-blocks */
    public BlockPaths paths() {
        return paths;
    }

    /** @return the precision */
    public Precision precision() {
        return precision;
    }

    /** @return the output metric */
    public OutputMetric metric() {
        return metric;
    }

    /** @return forward passes run by {@link #evaluate()} so far (the order read's engine passes) */
    public long evaluations() {
        return evaluations.get();
    }

    /** @return the number of probe samples {@code n} */
    public int samples() {
        return samples;
    }

    /**
     * The probe labels in this precision, owned here and alive as long as this probe: an
     * operation on them leaves its result under this probe's manager until {@link #close()}. A
     * read that computes with the labels (a loss) takes {@link Capture#labels()} instead.
     *
     * @return the labels (do not close)
     */
    public NDList labels() {
        return labels;
    }

    /** @return the probe inputs in this precision (owned here: do not close) */
    public NDList inputs() {
        return inputs;
    }

    /**
     * One forward pass of the probe batch with the block's current parameters.
     *
     * @return the first output, widened to float64, with its last-axis width
     */
    public ProbeOutputs evaluate() {
        evaluations.incrementAndGet();
        try (NDManager scoped = manager.newSubManager()) {
            NDList in = copyInto(inputs, scoped);
            NDArray out = forward(scoped, in, false).head();
            long width = out.getShape().dimension() == 1 ? 1 : out.getShape().tail();
            return new ProbeOutputs(ParameterState.toDoubles(out), Math.toIntExact(width));
        }
    }

    /**
     * One forward pass that records sub-block activations. Close the capture to free them.
     *
     * @param outputsOf paths whose outputs to record
     * @param inputsOf paths whose inputs to record
     * @param gradientProbes paths whose outputs get a gradient probe
     * @param training whether the forward is a training forward (needed for backward)
     * @return the capture
     */
    public Capture capture(Set<String> outputsOf, Set<String> inputsOf, Set<String> gradientProbes,
            boolean training) {
        return capture(outputsOf, inputsOf, gradientProbes, training, Integer.MAX_VALUE);
    }

    /**
     * {@link #capture(Set, Set, Set, boolean)} on the probe's samples {@code from} (inclusive) to
     * {@code to} (exclusive) only; {@link Capture#labels()} are theirs.
     *
     * @param outputsOf paths whose outputs to record
     * @param inputsOf paths whose inputs to record
     * @param gradientProbes paths whose outputs get a gradient probe
     * @param training whether the forward is a training forward (needed for backward)
     * @param from first sample
     * @param to one past the last sample
     * @return the capture
     */
    public Capture capture(Set<String> outputsOf, Set<String> inputsOf, Set<String> gradientProbes,
            boolean training, int from, int to) {
        if (from < 0 || to > samples || from >= to) {
            throw new IllegalArgumentException("need 0 <= from < to <= " + samples + ", got " + from + " and " + to);
        }
        if (from == 0 && to == samples) {
            return capture(outputsOf, inputsOf, gradientProbes, training);
        }
        NDManager scoped = manager.newSubManager();
        try {
            NDList in = slice(inputs, from, to, scoped);
            NDList sliced = slice(labels, from, to, scoped);
            TapSession session = TapSession.open(paths, outputsOf, inputsOf, gradientProbes, scoped);
            NDList out;
            try {
                out = forward(scoped, in, training);
            } finally {
                session.close();
            }
            Capture c = new Capture(scoped, session, out, sliced);
            c.labels = sliced;
            return c;
        } catch (RuntimeException e) {
            scoped.close();
            throw e;
        }
    }

    private static NDList slice(NDList list, int from, int to, NDManager into) {
        NDList out = new NDList(list.size());
        for (NDArray a : list) {
            try (NDArray view = a.get(new ai.djl.ndarray.index.NDIndex(from + ":" + to))) {
                NDArray c = view.duplicate();
                c.attach(into);
                out.add(c);
            }
        }
        return out;
    }

    /**
     * An inference forward pass on the first {@code samples} samples of the probe that records
     * sub-block activations (the arrays the forward itself passes on, not copies).
     *
     * @param outputsOf paths whose outputs to record
     * @param inputsOf paths whose inputs to record
     * @param samples at most this many samples of the probe, at least 1
     * @return the capture; close it to free them
     */
    public Capture capture(Set<String> outputsOf, Set<String> inputsOf, int samples) {
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be >= 1, got " + samples);
        }
        return capture(outputsOf, inputsOf, Set.of(), false, samples);
    }

    private Capture capture(Set<String> outputsOf, Set<String> inputsOf, Set<String> gradientProbes, boolean training,
            int samples) {
        NDManager scoped = manager.newSubManager();
        try {
            NDList in = samples >= this.samples ? copyInto(inputs, scoped) : slice(inputs, 0, samples, scoped);
            TapSession session = TapSession.open(paths, outputsOf, inputsOf, gradientProbes, scoped);
            NDList out;
            try {
                out = forward(scoped, in, training);
            } finally {
                session.close();
            }
            return new Capture(scoped, session, out, labels);
        } catch (RuntimeException e) {
            scoped.close();
            throw e;
        }
    }

    private NDList forward(NDManager scoped, NDList in, boolean training) {
        return forward(scoped, in, training, null);
    }

    private NDList forward(NDManager scoped, NDList in, boolean training, Set<Parameter> requested) {
        ParameterStore ps = promoted.store(scoped, requested);
        NDList out = block.forward(ps, in, training);
        // ops on parameters may attach results to a parameter's manager; bring them home
        for (NDArray a : out) {
            a.attach(scoped);
        }
        return out;
    }

    private static NDList copyInto(NDList list, NDManager scoped) {
        NDList out = new NDList(list.size());
        for (NDArray a : list) {
            NDArray c = a.duplicate();
            c.attach(scoped);
            out.add(c);
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** Recorded activations of one forward pass; closing frees every array of the pass. */
    public static final class Capture implements AutoCloseable {
        private final NDManager manager;
        private final TapSession session;
        private final NDList output;
        private final NDList probeLabels;
        private NDList labels;

        Capture(NDManager manager, TapSession session, NDList output, NDList probeLabels) {
            this.manager = manager;
            this.session = session;
            this.output = output;
            this.probeLabels = probeLabels;
        }

        /**
         * The probe labels copied into this pass's manager (on first call), so that what a loss
         * computes from them (DJL attaches an operation's result to its first operand's manager)
         * is freed with the pass rather than kept until the probe is closed.
         *
         * @return the labels, in the probe's precision
         */
        public NDList labels() {
            if (labels == null) {
                labels = copyInto(probeLabels, manager);
            }
            return labels;
        }

        /** @return the manager of this pass (create derived arrays under it) */
        public NDManager manager() {
            return manager;
        }

        /** @return the session with the recorded arrays */
        public TapSession session() {
            return session;
        }

        /** @return the model's output of this pass */
        public NDList output() {
            return output;
        }

        @Override
        public void close() {
            manager.close();
        }
    }
}
