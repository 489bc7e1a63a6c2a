package dev.deadwatch.blocks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.deadwatch.capture.EngineScalar;

/** Multi-head scaled dot-product attention of projected queries, keys and values. */
public final class ScaledDotProduct {

    private ScaledDotProduct() {
    }

    /**
     * {@code softmax(q kᵀ / √d_head + mask) v} per head, heads concatenated.
     *
     * @param q projected queries, (batch, tokens, width)
     * @param k projected keys, likewise
     * @param v projected values, likewise
     * @param heads heads, dividing the width
     * @param mask an additive mask broadcast over the scores (batch or 1, heads or 1, tokens or 1,
     *     tokens), or {@code null}
     * @return (batch, tokens, width)
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, int heads, NDArray mask) {
        long b = q.getShape().get(0);
        long s = q.getShape().get(1);
        long width = q.getShape().get(2);
        if (width % heads != 0) {
            throw new IllegalArgumentException("width " + width + " is not a multiple of heads " + heads);
        }
        long hd = width / heads;
        NDArray scores;
        // an engine-owned divisor: DJL's div(Number) hands autograd a scalar it frees before the
        // backward pass reads it (docs/findings.md), which makes every gradient upstream garbage
        try (NDArray scale = EngineScalar.of(q.getManager(), Math.sqrt(hd), DataType.FLOAT64)) {
            scores = split(q, heads).matMul(split(k, heads).transpose(0, 1, 3, 2)).div(scale);
        }
        if (mask != null) {
            scores = scores.add(mask);
        }
        return scores.softmax(-1).matMul(split(v, heads)).transpose(0, 2, 1, 3).reshape(b, s, width);
    }

    /** @return (batch, heads, tokens, width / heads) */
    private static NDArray split(NDArray a, int heads) {
        long[] d = a.getShape().getShape();
        return a.reshape(d[0], d[1], heads, d[2] / heads).transpose(0, 2, 1, 3);
    }
}
