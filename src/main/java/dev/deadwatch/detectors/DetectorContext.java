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
     * @return for every block with children, its children's paths in forward order (the
     *     sequences in which Linear → activation → Linear patterns are looked for)
     */
    public List<List<String>> siblingRuns() {
        List<List<String>> runs = new ArrayList<>();
        for (Block b : paths().byPath().values()) {
            List<Block> kids = BlockPaths.children(b);
            if (kids.size() >= 2) {
                List<String> run = new ArrayList<>();
                for (Block k : kids) {
                    run.add(paths().pathOf(k));
                }
                runs.add(run);
            }
        }
        return runs;
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
     * The covariance of a block's input activations on the probe batch (cached).
     *
     * @param path block path
     * @return the covariance (its eigenvectors computed when first asked: only a layer with a
     *     bottom needs them)
     */
    public Activations.Covariance inputCovariance(String path) {
        return inputCovariances.computeIfAbsent(path, p -> {
            try (ModelProbe.Capture cap = probe.capture(Set.of(), Set.of(p), Set.of(), false)) {
                List<NDArray> in = cap.session().inputs().get(p);
                if (in == null) {
                    throw new IllegalStateException("block " + p + " was not called by the forward pass");
                }
                NDArray a = Activations.centred(in, Activations.DEFAULT_MAX_ROWS, cap.manager());
                return Activations.covariance(a, false);
            }
        });
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
