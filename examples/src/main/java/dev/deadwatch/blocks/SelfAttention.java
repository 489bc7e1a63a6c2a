package dev.deadwatch.blocks;

import dev.deadwatch.capture.EngineScalar;
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
        long b = x.getShape().get(0);
        long s = x.getShape().get(1);
        long hd = width / heads;
        NDArray q = split(query.forward(ps, new NDList(x), training).head(), b, s, hd);
        NDArray k = split(key.forward(ps, new NDList(x), training).head(), b, s, hd);
        NDArray v = split(value.forward(ps, new NDList(x), training).head(), b, s, hd);
        NDArray scores;
        // an engine-owned divisor, not div(Number): see EngineScalar and docs/findings.md
        try (NDArray scale = EngineScalar.of(x.getManager(), Math.sqrt(hd), DataType.FLOAT64)) {
            scores = q.matMul(k.transpose(0, 1, 3, 2)).div(scale);
        }
        if (causal) {
            NDManager m = x.getManager();
            NDArray pos = m.arange(0, (int) s, 1, DataType.INT64);
            NDArray mask = pos.reshape(1, s).gt(pos.reshape(s, 1)).toType(x.getDataType(), false)
                    .mul(-1e9);
            scores = scores.add(mask);
        }
        NDArray attended = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, s, width);
        return output.forward(ps, new NDList(attended), training);
    }

    private NDArray split(NDArray a, long b, long s, long hd) {
        return a.reshape(b, s, heads, hd).transpose(0, 2, 1, 3);
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
