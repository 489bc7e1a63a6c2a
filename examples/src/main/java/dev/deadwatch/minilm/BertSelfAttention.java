package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.deadwatch.blocks.ScaledDotProduct;
import dev.deadwatch.detectors.QueryKeyAttention;

/**
 * BERT's multi-head self-attention, up to the concatenated heads (the output projection is the
 * next block of the layer): {@code softmax(q kᵀ/√d_head + mask) v} per head, heads taking
 * consecutive slices of the query, key and value projections, as in the ONNX graph. Implements
 * {@link QueryKeyAttention}, so the query–key rotation detector reads it.
 *
 * <p>Inputs: the hidden states {@code (N, T, hidden)} and, optionally, an additive mask
 * broadcastable to {@code (N, heads, T, T)} (see {@link MiniLm#maskBias}).
 */
public final class BertSelfAttention extends AbstractBlock implements QueryKeyAttention {

    private final int hidden;
    private final int heads;
    private final Linear query;
    private final Linear key;
    private final Linear value;

    /** @param config the model's dimensions */
    public BertSelfAttention(MiniLm.Config config) {
        this.hidden = config.hidden();
        this.heads = config.heads();
        this.query = addChildBlock("query", Linear.builder().setUnits(hidden).build());
        this.key = addChildBlock("key", Linear.builder().setUnits(hidden).build());
        this.value = addChildBlock("value", Linear.builder().setUnits(hidden).build());
    }

    @Override
    public Linear queryProjection() {
        return query;
    }

    @Override
    public Linear keyProjection() {
        return key;
    }

    /** @return the value projection */
    public Linear valueProjection() {
        return value;
    }

    @Override
    public int heads() {
        return heads;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        return new NDList(ScaledDotProduct.attend(query.forward(ps, new NDList(x), training).head(),
                key.forward(ps, new NDList(x), training).head(), value.forward(ps, new NDList(x), training).head(),
                heads, inputs.size() > 1 ? inputs.get(1) : null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = new Shape(-1, hidden);
        query.initialize(manager, dataType, in);
        key.initialize(manager, dataType, in);
        value.initialize(manager, dataType, in);
    }
}
