package dev.deadwatch.detectors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.reads.Activations;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What detectors see: the model on its probe batch, sibling structure, and cached helpers. */
public final class DetectorContext {

    private final ModelProbe probe;
    private final Map<String, Activations.Covariance> inputCovariances = new HashMap<>();
    /** Input covariance matrices recorded with another layer's and not yet asked for. */
    private final Map<String, double[]> inputMatrices = new HashMap<>();
    private List<List<String>> chains;

    /** @param probe the model on the probe batch */
    public DetectorContext(ModelProbe probe) {
        this.probe = probe;
    }

    /** @return the model on the probe batch */
    public ModelProbe probe() {
        return probe;
    }

    /** @return the model's block paths */
    public BlockPaths paths() {
        return probe.paths();
    }

    /**
     * Samples of the probe the data-flow check runs its forward pass on: it compares which arrays
     * the forward hands from block to block, which does not depend on how many rows they have.
     */
    static final int DATAFLOW_SAMPLES = 2;

    /**
     * The chains of sibling blocks: for every block with two or more children, its children in
     * forward order, cut wherever one child does not feed the next. A child <em>feeds</em> the
     * next when the next one's first input is the very array the child's forward returned
     * (checked once per context, on one forward pass of {@link #DATAFLOW_SAMPLES} probe samples).
     * Siblings that run side by side (an attention's query, key and value all read one input, the
     * branches of a {@code ParallelBlock}) or with an operation between them that is not a block
     * of its own (a residual sum, a reshape) do not feed each other, so no detector takes one as
     * the producer of the other's input. What the check cannot see: a child whose output also goes
     * elsewhere (a LayerNorm's output into the next Linear and into a residual sum); a candidate
     * built on such a pair is still proposed, and the order read measures what it is.
     *
     * @return the chains in forward order, single blocks included
     */
    public List<List<String>> siblingRuns() {
        if (chains == null) {
            chains = computeChains();
        }
        return chains;
    }

    private List<List<String>> computeChains() {
        List<List<String>> parents = new ArrayList<>();
        Set<String> recorded = new java.util.LinkedHashSet<>();
        for (Block b : paths().byPath().values()) {
            List<Block> kids = BlockPaths.children(b);
            if (kids.size() >= 2) {
                List<String> run = new ArrayList<>();
                for (Block k : kids) {
                    run.add(paths().pathOf(k));
                }
                parents.add(run);
                recorded.addAll(run);
            }
        }
        List<List<String>> out = new ArrayList<>();
        if (parents.isEmpty()) {
            return out;
        }
        try (ModelProbe.Capture cap = probe.capture(recorded, recorded, DATAFLOW_SAMPLES)) {
            Map<String, List<NDArray>> outs = cap.session().outputs();
            Map<String, List<NDArray>> ins = cap.session().inputs();
            for (List<String> run : parents) {
                List<String> chain = new ArrayList<>(List.of(run.get(0)));
                for (int i = 1; i < run.size(); i++) {
                    if (!feeds(outs.get(run.get(i - 1)), ins.get(run.get(i)))) {
                        out.add(List.copyOf(chain));
                        chain = new ArrayList<>();
                    }
                    chain.add(run.get(i));
                }
                out.add(List.copyOf(chain));
            }
        }
        return List.copyOf(out);
    }

    /** Whether the first call's input is the very array the producer's first call returned. */
    private static boolean feeds(List<NDArray> producerOutputs, List<NDArray> consumerInputs) {
        return producerOutputs != null && consumerInputs != null && !producerOutputs.isEmpty()
                && !consumerInputs.isEmpty() && producerOutputs.get(0) == consumerInputs.get(0);
    }

    /** @return whether the block is a Linear or a Convolution */
    public static boolean isAffine(Block b) {
        return b instanceof Linear || b instanceof Convolution;
    }

    /** @return whether the block has no parameters (an activation, reshape, dropout…) */
    public static boolean isParameterFree(Block b) {
        return b.getParameters().isEmpty();
    }

    /**
     * The covariance of a block's input activations on the probe batch (cached). The first call
     * records the inputs of every Linear block of the model (and of {@code path}) in one forward
     * pass and keeps their covariance matrices, so a detector that asks for every Linear layer
     * costs one forward pass, not one per layer; each is decomposed when first asked for.
     *
     * @param path block path
     * @return the covariance (its eigenvectors computed when first asked: only a layer with a
     *     bottom needs them)
     */
    public Activations.Covariance inputCovariance(String path) {
        return inputCovariances.computeIfAbsent(path, p -> {
            double[] matrix = inputMatrices.remove(p);
            if (matrix == null) {
                Set<String> wanted = new java.util.LinkedHashSet<>(paths().pathsOf(Linear.class));
                wanted.removeAll(inputCovariances.keySet());
                wanted.add(p);
                recordInputCovariances(wanted);
                matrix = inputMatrices.remove(p);
                if (matrix == null) {
                    throw new IllegalStateException("block " + p + " was not called by the forward pass");
                }
            }
            return new Activations.Covariance(matrix, (int) Math.round(Math.sqrt(matrix.length)), false);
        });
    }

    /** One forward pass recording the inputs of {@code wanted}: their covariance matrices, by path. */
    private void recordInputCovariances(Set<String> wanted) {
        try (ModelProbe.Capture cap = probe.capture(Set.of(), wanted, Set.of(), false)) {
            cap.session().inputs().forEach((q, in) -> {
                try (NDManager m = cap.manager().newSubManager()) {
                    NDArray a = Activations.centred(in, Activations.DEFAULT_MAX_ROWS, m);
                    inputMatrices.put(q, Activations.covarianceMatrix(a));
                }
            });
        }
    }

    /**
     * The degree {@code p} of a parameter-free elementwise block at 0: {@code act(t) ~ tᵖ}
     * (ReLU, GELU, tanh: 1; squared ReLU: 2), measured by evaluating the block at {@code ±t}
     * for two small {@code t} in the probe's precision.
     *
     * @param activation the block
     * @return the degree, or 0 if the block is identically zero near 0 or not elementwise
     */
    public int activationDegree(Block activation) {
        double t1 = probe.precision() == dev.deadwatch.capture.Precision.FLOAT64 ? 1e-4 : 1e-2;
        double t2 = 10 * t1;
        try (NDManager m = probe.inputs().head().getManager().newSubManager()) {
            NDArray x = m.create(new double[] {t1, t2, -t1, -t2}).toType(probe.precision().dataType(), false);
            NDArray y = activation.forward(new ParameterStore(m, false), new NDList(x), false).head();
            y.attach(m);
            double[] v = ParameterState.toDoubles(y);
            if (v.length != 4) {
                return 0;
            }
            int degree = Integer.MAX_VALUE;
            for (int side = 0; side < 2; side++) {
                double a = Math.abs(v[2 * side]);
                double b = Math.abs(v[2 * side + 1]);
                if (a > 0 && b > 0) {
                    degree = (int) Math.min(degree, Math.round(Math.log(b / a) / Math.log(t2 / t1)));
                }
            }
            return degree == Integer.MAX_VALUE ? 0 : degree;
        } catch (RuntimeException e) {
            return 0; // not an elementwise function of one array
        }
    }
}
