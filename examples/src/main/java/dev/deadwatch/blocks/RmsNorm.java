package dev.deadwatch.blocks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;

/**
 * RMSNorm over the last axis: {@code h = γ ⊙ x / sqrt(mean(x²) + ε)}. No mean subtraction, so
 * no inverse-scale kernel (the no-kernel twin in docs/method.md §1). The scale is named {@code gamma},
 * like LayerNorm's, so the LayerNorm read and kernel detector can read it.
 */
public final class RmsNorm extends AbstractBlock {

    private final float epsilon;
    private final Parameter gamma;

    /** @param epsilon added to the mean square, positive */
    public RmsNorm(float epsilon) {
        if (!(epsilon > 0)) {
            throw new IllegalArgumentException("epsilon must be positive, got " + epsilon);
        }
        this.epsilon = epsilon;
        this.gamma = addParameter(Parameter.builder().setName("gamma").setType(Parameter.Type.GAMMA)
                .optInitializer(Initializer.ONES).build());
    }

    /** An RMSNorm with {@code ε = 1e-5}. */
    public RmsNorm() {
        this(1e-5f);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        NDArray g = ps.getValue(gamma, x.getDevice(), training);
        NDArray rms = x.square().mean(new int[] {-1}, true).add(epsilon).sqrt();
        return new NDList(x.div(rms).mul(g));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    public void prepare(Shape[] inputShapes) {
        gamma.setShape(new Shape(inputShapes[0].tail()));
    }
}
