package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.deadwatch.linalg.Spectrum;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import dev.deadwatch.capture.FeatureAxes;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The DDS spectral read (docs/method.md §2, arXiv 2606.21158): spectrum of the centred activation
 * covariance of a layer (or of a Fisher Gram), its active volume {@code log det⁺}, relative
 * {@code λ_min+}, volume-slope profile {@code D(ε)} and headline dead count, effective rank.
 */
public final class DdsRead implements SplitRead {

    private final int maxRows;
    private final double floor;
    private final double epsDead;

    /** A read with the docs/method.md defaults ({@code N_max} 4096, floor 1e-12, ε_dead 1e-4). */
    public DdsRead() {
        this(Activations.DEFAULT_MAX_ROWS, Spectrum.DEFAULT_FLOOR, Spectrum.EPS_DEAD);
    }

    /**
     * @param maxRows row cap {@code N_max}, at least 2
     * @param floor relative numerical floor, in (0, 1)
     * @param epsDead the ε of the headline count, in (0, 1)
     */
    public DdsRead(int maxRows, double floor, double epsDead) {
        if (maxRows < 2) {
            throw new IllegalArgumentException("maxRows must be >= 2, got " + maxRows);
        }
        if (!(floor > 0 && floor < 1)) {
            throw new IllegalArgumentException("floor must be in (0,1), got " + floor);
        }
        if (!(epsDead > 0 && epsDead < 1)) {
            throw new IllegalArgumentException("epsDead must be in (0,1), got " + epsDead);
        }
        this.maxRows = maxRows;
        this.floor = floor;
        this.epsDead = epsDead;
    }

    /** @return {@code dds} */
    @Override
    public String name() {
        return "dds";
    }

    @Override
    public boolean needsActivations() {
        return true;
    }

    /**
     * Reads the activation side of every tapped layer along its feature axis, and splits each
     * layer's {@code round(D(ε_dead))} into unresolved, structural and dead directions
     * (docs/method.md §2): what the layer's input already lacked is taken from the read of the
     * layer that produced it ({@link ActivationPlan#producer}), or read on the input itself. A
     * layer that fails is that layer's failure ({@link ReadContext#fail}). Where the rest runs
     * later, the capture records the activations (one recording, shared with the LayerNorm read);
     * the rest builds and decomposes the covariances. Where it runs right after and the context
     * bounds the activations held ({@link ReadContext#activationGroupBytes}), a model whose
     * recording would be larger is recorded and read group of layers by group, each group freed
     * before the next is recorded.
     */
    @Override
    public Rest capture(ReadContext ctx) {
        if (ctx.restsDeferred()) {
            ctx.activations();
        }
        return this::spectra;
    }

    private void spectra(ReadContext ctx) {
        Map<String, Integer> kernels = new HashMap<>();
        for (LayerNormResult r : ctx.results(LayerNormResult.class)) {
            kernels.put(r.layer(), r.kernel() ? 1 : 0);
        }
        ActivationPlan plan = ctx.activationPlan();
        Map<String, Deficiency> known = new HashMap<>();
        for (List<String> group : plan.groups()) {
            Set<String> done = new HashSet<>();
            try {
                ctx.withGroup(group, taps -> {
                    for (String layer : group) {
                        done.add(layer);
                        layer(ctx, layer, taps, plan, kernels, known);
                    }
                    return null;
                });
            } catch (RuntimeException e) { // the group's recording: each of its layers not read fails
                group.stream().filter(l -> !done.contains(l)).forEach(l -> ctx.fail(l, name(), e));
            }
        }
    }

    private void layer(ReadContext ctx, String layer, RecordedActivations taps, ActivationPlan plan,
            Map<String, Integer> kernels, Map<String, Deficiency> known) {
        List<NDArray> calls = taps.outputs().get(layer);
        if (calls == null) {
            return;
        }
        try (NDManager m = taps.manager().newSubManager()) {
            int axis = ctx.featureAxis(layer);
            NDArray a = Activations.centred(calls, axis, maxRows, m);
            int rows = Math.toIntExact(a.getShape().get(0));
            Spectrum spectrum = Activations.spectrum(a);
            int total = total(spectrum);
            int width = spectrum.dimension();
            int unresolved = unresolved(width, rows);
            Block block = ctx.paths().blockAt(layer);
            String producer = plan.producer(layer);
            Deficiency in = inputDeficiency(block, taps.inputs().get(layer), axis, width,
                    producer == null ? null : known.get(producer), m);
            Structure structure = LayerStructure.of(block, width, total, unresolved,
                    kernels.getOrDefault(layer, 0), in);
            ctx.add(result(layer, Side.ACTIVATION, rows, spectrum, total, unresolved, structure));
            known.put(layer, Deficiency.of(width, total, unresolved));
        } catch (RuntimeException e) {
            ctx.fail(layer, name(), e);
        }
    }

    /**
     * What a layer's input lacks: from the read of the layer that produced it ({@code produced})
     * when known, else read on the input itself (only for the layers whose structure depends on it).
     */
    private Deficiency inputDeficiency(Block block, List<NDArray> inputs, int axis, int width, Deficiency produced,
            NDManager m) {
        if (inputs == null || inputs.isEmpty() || !LayerStructure.dependsOnInput(block)) {
            return null;
        }
        if (produced != null && (produced.width() == width || !block.getParameters().isEmpty())) {
            return produced;
        }
        if (!inputs.get(0).getDataType().isFloating()) {
            return null; // indices (embeddings): no spectrum
        }
        List<NDArray> in = inputs;
        int inAxis = LayerStructure.inputAxis(block, axis);
        if (block.getParameters().isEmpty() && flattens(inputs.get(0), width)) {
            // a reshape (flatten) keeps what its input lacks: read the input laid out as its output
            in = inputs.stream().map(a -> {
                NDArray f = a.reshape(a.getShape().get(0), width);
                f.attach(m);
                return f;
            }).toList();
            inAxis = FeatureAxes.LAST;
        }
        NDArray a = Activations.centred(in, inAxis, maxRows, m);
        return deficiency(Activations.spectrum(a), Math.toIntExact(a.getShape().get(0)));
    }

    /** @return what a matrix of {@code rows} centred rows with this spectrum lacks (all of it when zero) */
    private Deficiency deficiency(Spectrum spectrum, int rows) {
        return Deficiency.of(spectrum.dimension(), total(spectrum), unresolved(spectrum.dimension(), rows));
    }

    /** @return whether {@code input}'s non-batch entries, flattened, are {@code width} features */
    private static boolean flattens(NDArray input, int width) {
        Shape s = input.getShape();
        return s.dimension() > 2 && s.size() / s.get(0) == width;
    }

    /**
     * What one layer's input or output lacks.
     *
     * @param width feature width
     * @param total non-active directions, {@code round(D(ε_dead))} (all of them for a zero matrix)
     * @param unresolved the part the rows cannot span
     */
    record Deficiency(int width, int total, int unresolved) {
        /** @return the deficiency of a read whose {@link DdsRead#total(Spectrum)} is {@code total} (-1: a zero matrix lacks all) */
        static Deficiency of(int width, int total, int unresolved) {
            return new Deficiency(width, total < 0 ? width : total, unresolved);
        }

        /** @return the active directions */
        int active() {
            return width - total;
        }
    }

    /**
     * @param width feature width
     * @param rows rows of the centred matrix
     * @return the directions {@code rows} centred rows cannot span: {@code max(0, width − (rows − 1))}
     */
    public static int unresolved(int width, int rows) {
        return Math.max(0, width - Math.max(0, rows - 1));
    }

    /**
     * Reads the activation side of one layer, features on the last axis, with no structure known
     * beyond {@code structuralKernels} (for direct use; the monitor reads through {@link #read}).
     *
     * @param layer block path
     * @param calls recorded outputs of the block (one per call)
     * @param structuralKernels known LayerNorm kernels on this output
     * @param scratch manager for temporaries (closed by the caller)
     * @return the result
     */
    public DdsResult activation(String layer, List<NDArray> calls, int structuralKernels,
            NDManager scratch) {
        if (structuralKernels < 0) {
            throw new IllegalArgumentException("structuralKernels must be >= 0, got " + structuralKernels);
        }
        try (NDManager m = scratch.newSubManager()) {
            NDArray a = Activations.centred(calls, maxRows, m);
            int rows = Math.toIntExact(a.getShape().get(0));
            Spectrum spectrum = Activations.spectrum(a);
            int total = total(spectrum);
            int unresolved = unresolved(spectrum.dimension(), rows);
            Structure structure = LayerStructure.of(null, spectrum.dimension(), total, unresolved,
                    structuralKernels, null);
            return result(layer, Side.ACTIVATION, rows, spectrum, total, unresolved, structure);
        }
    }

    /**
     * @param spectrum a spectrum
     * @return {@code round(D(ε_dead))}, or -1 for a zero matrix
     */
    public int total(Spectrum spectrum) {
        double d = spectrum.deadProfile(epsDead);
        return Double.isNaN(d) ? -1 : (int) Math.round(d);
    }

    /**
     * The observables of a spectrum, with its count split.
     *
     * @param layer block path
     * @param side side
     * @param rows rows of the source matrix
     * @param spectrum the spectrum (one entry per dimension)
     * @param total {@link #total(Spectrum)}
     * @param unresolved the part the probe cannot see
     * @param structure the part the architecture forces (capped so the parts add up to {@code total})
     * @return the result
     */
    public DdsResult result(String layer, Side side, int rows, Spectrum spectrum, int total, int unresolved,
            Structure structure) {
        double[] profile = new double[Spectrum.PROFILE_EPS.length];
        for (int i = 0; i < profile.length; i++) {
            profile[i] = spectrum.deadProfile(Spectrum.PROFILE_EPS[i]);
        }
        int u = total < 0 ? unresolved : Math.min(unresolved, total);
        int dead = total < 0 ? -1 : Math.max(0, total - u - structure.total());
        return new DdsResult(layer, side, rows, spectrum.dimension(), spectrum.logDetActive(floor),
                spectrum.lambdaMinPositive(floor), spectrum.effectiveRank(), profile, total, u, structure, dead);
    }
}
