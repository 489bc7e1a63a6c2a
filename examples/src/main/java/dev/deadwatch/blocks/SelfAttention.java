package dev.deadwatch.blocks;

import dev.deadwatch.detectors.QueryKeyAttention;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head self-attention over {@code (batch, positions, width)}, optionally causal. Unlike
 * DJL's {@code ScaledDotProductAttentionBlock} its projections initialize in the requested data
 * type, so a float64 replica works.
 */
public final class SelfAttention extends AbstractBlock implements QueryKeyAttention {

    private final int width;
    private final int heads;
    private final boolean causal;
    private final Linear query;
    private final Linear key;
    private final Linear value;
    private final Linear output;

    /**
     * @param width model width, divisible by {@code heads}
     * @param heads number of heads
     * @param causal whether position {@code i} attends only to positions {@code ≤ i}
     */
    public SelfAttention(int width, int heads, boolean causal) {
        if (width < 1 || heads < 1 || width % heads != 0) {
            throw new IllegalArgumentException(
                    "width " + width + " must be a positive multiple of heads " + heads);
        }
        this.width = width;
        this.heads = heads;
        this.causal = causal;
        this.query = addChildBlock("query", Linear.builder().setUnits(width).build());
        this.key = addChildBlock("key", Linear.builder().setUnits(width).build());
        this.value = addChildBlock("value", Linear.builder().setUnits(width).build());
        this.output = addChildBlock("output", Linear.builder().setUnits(width).build());
    }

    @Override
    public Linear queryProjection() {
        return query;
    }

    @Override
    public Linear keyProjection() {
        return key;
    }

    @Override
    public int heads() {
        return heads;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        long s = x.getShape().get(1);
        NDArray mask = null;
        if (causal) {
            NDArray pos = x.getManager().arange(0, (int) s, 1, DataType.INT64);
            mask = pos.reshape(1, s).gt(pos.reshape(s, 1)).toType(x.getDataType(), false).mul(-1e9);
        }
        NDArray attended = ScaledDotProduct.attend(query.forward(ps, new NDList(x), training).head(),
                key.forward(ps, new NDList(x), training).head(), value.forward(ps, new NDList(x), training).head(),
                heads, mask);
        return output.forward(ps, new NDList(attended), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = new Shape(-1, width);
        query.initialize(manager, dataType, in);
        key.initialize(manager, dataType, in);
        value.initialize(manager, dataType, in);
        output.initialize(manager, dataType, in);
    }
}
