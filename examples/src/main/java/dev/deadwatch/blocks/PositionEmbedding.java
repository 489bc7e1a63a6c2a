package dev.deadwatch.blocks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * Learned position embeddings: adds a parameter {@code P} of shape {@code (positions, width)} to
 * an input of shape {@code (batch, positions, width)}, {@code h[b, i] = x[b, i] + P[i]}. The
 * parameter is initialized in the data type the block is initialized in, so a float64 replica
 * works.
 */
public final class PositionEmbedding extends AbstractBlock {

    private final int positions;
    private final int width;
    private final Parameter embedding;

    /**
     * @param positions sequence length
     * @param width model width
     * @param sigma standard deviation of the initial values, positive
     */
    public PositionEmbedding(int positions, int width, float sigma) {
        if (positions < 1 || width < 1 || !(sigma > 0)) {
            throw new IllegalArgumentException("positions " + positions + ", width " + width + " and sigma "
                    + sigma + " must be positive");
        }
        this.positions = positions;
        this.width = width;
        this.embedding = addParameter(Parameter.builder().setName("embedding").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(positions, width)).optInitializer(new NormalInitializer(sigma)).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        return new NDList(x.add(ps.getValue(embedding, x.getDevice(), training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        if (in.dimension() != 3 || in.get(1) != positions || in.get(2) != width) {
            throw new IllegalArgumentException("expected (batch, " + positions + ", " + width + "), got " + in);
        }
        return new Shape[] {in};
    }

    /** @return the embedding parameter, shape {@code (positions, width)} */
    public Parameter embedding() {
        return embedding;
    }
}
