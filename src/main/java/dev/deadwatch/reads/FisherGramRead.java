package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.loss.L2Loss;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.EngineScalar;
import dev.deadwatch.capture.SafeL2Loss;
import ai.djl.util.Pair;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Fisher side of the DDS read (docs/method.md §2): for a Linear layer with input activations
 * {@code a_is} and output gradients {@code δ_is}, the per-sample-gradient Gram
 * {@code G_ij = Σ_{s,s'} (δ_is·δ_js')(a_is·a_js')} from one forward and one backward pass,
 * without forming per-sample gradients. The gradient is of the summed per-sample loss on the
 * probe labels (empirical Fisher of the weight; the bias is not included).
 *
 * <p>Layers not called exactly once per forward pass are skipped. Parameter gradients touched by the backward pass are restored afterwards, so a read on the
 * training model leaves the next training step unchanged.
 */
public final class FisherGramRead implements SplitRead {

    private final DdsRead dds;

    /** @param dds the read whose observables are taken on {@code G} */
    public FisherGramRead(DdsRead dds) {
        this.dds = dds;
    }

    /** @return {@code fisher} */
    @Override
    public String name() {
        return "fisher";
    }

    /** Applies when the probe has labels and the training loss is known. */
    @Override
    public boolean appliesTo(ReadContext ctx) {
        return !ctx.probe().labels().isEmpty() && ctx.loss().isPresent();
    }

    /**
     * Reads every Linear layer. Its backward pass runs with autograd on for the calling thread
     * only ({@link GradMode#withGradient}), so it may run on the read worker on the replica while
     * the trainer trains; on the training model itself, run the capture between steps. The capture
     * is the forward and backward pass, keeping each layer's input and output gradient; the rest
     * builds the Grams and decomposes them. Where the rest runs right after (not
     * {@linkplain ReadContext#deferRests() deferred}) a large model's layers are captured in
     * groups ({@link FisherPlan#GROUP_BYTES}), and all but the last group's Grams are built during
     * the capture.
     */
    @Override
    public Rest capture(ReadContext ctx) {
        ModelProbe probe = ctx.probe();
        // deferred (the capture on the training thread): every layer kept, no Gram built during it
        Captured captured = captureInGroups(probe, probe.paths().pathsOf(Linear.class), ctx.loss().orElseThrow(),
                ctx.keep(), ctx.restsDeferred() ? Long.MAX_VALUE : FisherPlan.GROUP_BYTES);
        return c -> results(captured, c.keep()).forEach(c::add);
    }

    /**
     * @param probe the model on the probe batch (needs labels)
     * @param linearPaths paths of Linear blocks to read
     * @param loss the training loss (DJL losses average over the batch; the Gram is of the
     *     per-sample terms)
     * @return one result per path, in the given order
     */
    public List<DdsResult> read(ModelProbe probe, List<String> linearPaths, Loss loss) {
        try (NDManager keep = NDManager.newBaseManager()) {
            return results(captureInGroups(probe, linearPaths, loss, keep, FisherPlan.GROUP_BYTES), keep);
        }
    }

    private List<DdsResult> results(Captured captured, NDManager scratch) {
        List<DdsResult> out = new ArrayList<>();
        int n = captured.samples();
        captured.layers().forEach((path, layer) -> {
            double[] gram = gram(layer, n, scratch);
            layer.close(); // each layer's arrays freed as soon as its Gram is built
            double[] values = SymmetricEigen.of(gram, n, false).values();
            Spectrum spectrum = Spectrum.of(values, n);
            int total = dds.total(spectrum);
            // n per-sample gradients of a weight with p entries span at most p directions
            long p = layer.weightSize();
            int forced = total < 0 ? 0 : (int) Math.min(total, Math.max(0, n - p));
            out.add(dds.result(path, Side.FISHER, n, spectrum, total, 0, new Structure(0, forced, 0)));
        });
        return out;
    }

    /**
     * The Grams themselves.
     *
     * @return path → row-major {@code n × n} Gram
     */
    public static Map<String, double[]> grams(ModelProbe probe, List<String> linearPaths, Loss loss) {
        return grams(probe, linearPaths, loss, FisherPlan.GROUP_BYTES);
    }

    /**
     * {@link #grams(ModelProbe, List, Loss)} with the layers captured in groups of at most
     * {@code groupBytes} kept bytes ({@link FisherPlan#GROUP_BYTES}).
     */
    static Map<String, double[]> grams(ModelProbe probe, List<String> linearPaths, Loss loss, long groupBytes) {
        try (NDManager keep = NDManager.newBaseManager()) {
            Captured captured = captureInGroups(probe, linearPaths, loss, keep, groupBytes);
            Map<String, double[]> out = new LinkedHashMap<>();
            captured.layers().forEach((path, l) -> out.put(path, gram(l, captured.samples(), keep)));
            return out;
        }
    }

    /**
     * What the passes give a layer's Gram, kept out of them: per pass, the layer's input and the
     * loss's gradient with respect to its output, for that pass's samples (not joined: a copy of
     * every layer's arrays would double what the capture holds).
     *
     * @param inputs the layer's input, one array per pass
     * @param deltas its output gradient, one array per pass
     * @param perPass samples per pass (the last pass may have fewer)
     * @param weightSize entries of its weight
     */
    private record Layer(List<NDArray> inputs, List<NDArray> deltas, int perPass, long weightSize, double[] built) {
        Layer(List<NDArray> inputs, List<NDArray> deltas, int perPass, long weightSize) {
            this(inputs, deltas, perPass, weightSize, null);
        }

        /** @return the layer with its Gram built and its arrays freed */
        Layer build(int n, NDManager m) {
            double[] g = gram(this, n, m);
            close();
            return new Layer(List.of(), List.of(), perPass, weightSize, g);
        }

        void close() {
            inputs.forEach(NDArray::close);
            deltas.forEach(NDArray::close);
        }
    }

    /** The captured layers, in path order, and the probe's samples. */
    private record Captured(Map<String, Layer> layers, int samples) {}

    /**
     * {@link #capture} over groups of layers (in path order) that keep at most {@code groupBytes}
     * each: every group's Grams but the last are built at once and its arrays freed; the last
     * group's arrays are kept in {@code keep} for the rest. One group (the usual case) is
     * {@link #capture} itself. One sample's forward pass plans the groups and the passes.
     */
    private static Captured captureInGroups(ModelProbe probe, List<String> linearPaths, Loss loss, NDManager keep,
            long groupBytes) {
        if (probe.labels().isEmpty()) {
            throw new IllegalArgumentException("the Fisher side needs probe labels");
        }
        Set<String> paths = new LinkedHashSet<>(linearPaths);
        int n = probe.samples();
        Map<String, Layer> out = new LinkedHashMap<>();
        if (paths.isEmpty()) {
            return new Captured(out, n);
        }
        FisherPlan.OneSample one = FisherPlan.OneSample.of(probe, paths);
        List<List<String>> groups = one.groups(groupBytes);
        List<NDArray> params = withGradient(probe); // once: a deep model's parameter list is costly to walk
        if (groups.size() == 1) {
            return capture(probe, paths, one.samplesPerPass(paths), loss, keep, params);
        }
        for (int g = 0; g < groups.size(); g++) {
            boolean last = g == groups.size() - 1;
            Set<String> group = new LinkedHashSet<>(groups.get(g));
            try (NDManager scratch = last ? null : NDManager.newBaseManager()) {
                Captured c = capture(probe, group, one.samplesPerPass(group), loss, last ? keep : scratch, params);
                c.layers().forEach((path, layer) -> out.put(path, last ? layer : layer.build(n, scratch)));
            }
        }
        return new Captured(out, n);
    }

    /** @return the arrays the forward uses for the model's parameters that carry a gradient */
    private static List<NDArray> withGradient(ModelProbe probe) {
        List<NDArray> params = new ArrayList<>();
        for (Pair<String, Parameter> p : probe.block().getParameters()) {
            // the array the forward uses: a half-precision model's float32 copy carries no gradient
            NDArray a = probe.parameterArray(p.getValue());
            if (a.hasGradient()) {
                params.add(a);
            }
        }
        return params;
    }

    /**
     * The forward and backward pass: every read layer's input and output gradient, copied into
     * {@code keep} with no autograd history. The model's parameter gradients are restored.
     *
     * @param paths the layers (not empty)
     * @param per samples per pass ({@link FisherPlan.OneSample#samplesPerPass})
     * @param params the model's parameter arrays that carry a gradient ({@link #withGradient})
     */
    private static Captured capture(ModelProbe probe, Set<String> paths, int per, Loss loss, NDManager keep,
            List<NDArray> params) {
        int n = probe.samples();
        Map<String, Layer> out = new LinkedHashMap<>();
        // the parameters stop requiring a gradient for the pass: the backward computes only the
        // gradients of the layers' outputs (about half its work on a Linear-heavy model) and
        // leaves the trainer's parameter gradients as they were; on another engine they are
        // saved and written back
        if (params.isEmpty() || !GradMode.withFrozen(params, () -> pass(probe, paths, per, loss, keep, out))) {
            List<double[]> saved = new ArrayList<>();
            for (NDArray a : params) {
                // every getGradient() is a new wrapper registered in the parameter's manager,
                // which lives as long as the model: closed here, or each read leaves it behind
                try (NDArray g = a.getGradient()) {
                    saved.add(ParameterState.toDoubles(g));
                }
            }
            try {
                pass(probe, paths, per, loss, keep, out);
            } finally {
                for (int i = 0; i < params.size(); i++) {
                    // widened exactly, so writing back restores the gradient bit for bit
                    try (NDArray g = params.get(i).getGradient()) {
                        ParameterState.write(g, saved.get(i));
                    }
                }
            }
        }
        return new Captured(out, n);
    }

    /**
     * The forward and backward passes, keeping each layer's input and output gradient in
     * {@code out}: one pass, or passes over successive groups of samples ({@link FisherPlan#PASS_ROWS}),
     * kept per pass (a sample's gradient does not depend on the others': the loss is a sum over
     * samples and the forward is the inference one). A layer skipped in any pass is left out and
     * its arrays freed.
     */
    private static void pass(ModelProbe probe, Set<String> paths, int per, Loss loss, NDManager keep,
            Map<String, Layer> out) {
        int n = probe.samples();
        Map<String, List<NDArray[]>> parts = new LinkedHashMap<>();
        Set<String> skipped = new java.util.HashSet<>();
        try {
            for (int from = 0; from < n; from += per) {
                pass(probe, paths, loss, keep, from, Math.min(n, from + per), parts, skipped);
            }
            for (String path : paths) {
                List<NDArray[]> p = parts.get(path);
                if (p == null || skipped.contains(path) || p.size() != (n + per - 1) / per) {
                    continue;
                }
                long w = ParameterState.parameter(probe.paths().blockAt(path), "weight").getArray().size();
                out.put(path, new Layer(p.stream().map(pair -> pair[0]).toList(),
                        p.stream().map(pair -> pair[1]).toList(), per, w));
                parts.remove(path); // the layer owns them now
            }
        } finally {
            parts.values().forEach(l -> l.forEach(pair -> { // not read: freed now rather than with keep
                pair[0].close();
                pair[1].close();
            }));
        }
    }

    private static void pass(ModelProbe probe, Set<String> paths, Loss loss, NDManager keep, int from, int to,
            Map<String, List<NDArray[]>> parts, Set<String> skipped) {
        int m = to - from;
        // autograd on this thread only: safe on the analysis worker while the trainer runs
        GradMode.withGradient(backward -> {
            try (ModelProbe.Capture cap = probe.capture(Set.of(), paths, paths, false, from, to)) {
                NDManager mm = cap.manager();
                // DJL's L2Loss and mul(Number) hand autograd a scalar over a Java buffer the
                // GC may free before the backward pass (docs/findings.md): engine-owned ones
                Loss safe = loss instanceof L2Loss l2 ? SafeL2Loss.of(l2) : loss;
                NDArray raw = safe.evaluate(cap.labels(), cap.output());
                NDArray value = raw.mul(EngineScalar.of(mm, m, raw.getDataType()));
                value.attach(mm);
                backward.backward(value);
                for (String path : paths) {
                    List<NDArray> ins = cap.session().inputs().get(path);
                    List<NDArray> deltas = cap.session().probes().get(path);
                    if (ins == null || deltas == null || ins.size() != 1 || deltas.size() != 1) {
                        skipped.add(path); // not called, or called more than once per forward: no per-layer Gram
                        continue;
                    }
                    try (NDArray delta = deltas.get(0).getGradient()) {
                        parts.computeIfAbsent(path, k -> new ArrayList<>())
                                .add(new NDArray[] {kept(ins.get(0), keep), kept(delta, keep)});
                    }
                }
            }
            return null;
        });
    }

    /**
     * @return {@code a} without autograd history in {@code keep}: a view of the same memory (no
     *     copy), alive when the pass's arrays are freed
     */
    private static NDArray kept(NDArray a, NDManager keep) {
        NDArray c = a.stopGradient();
        c.attach(keep);
        return c;
    }

    /** @return the layer's row-major {@code n × n} Gram ({@link PassGram}) */
    private static double[] gram(Layer layer, int n, NDManager m) {
        return layer.built() != null ? layer.built() : PassGram.of(layer.inputs(), layer.deltas(), layer.perPass(), n, m);
    }

    /** @return the DDS read used on the Grams */
    public DdsRead dds() {
        return dds;
    }

}
