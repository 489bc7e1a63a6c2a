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
 * The scalar cells of docs/method.md §4 and §6: {@code y = b·x₁ + a·sᵏ·x₂} on inputs of width 2 (with
 * {@code b} frozen at 0 and only column 0 used, it is the cell {@code y = a sᵏ x}). Parameters
 * {@code a}, {@code b}, {@code s} are scalars (shape {@code (1)}).
 */
public final class PowerCell extends AbstractBlock {

    private final int k;
    private final boolean withRegular;
    private final Parameter a;
    private final Parameter b;
    private final Parameter s;

    /**
     * @param k the power, 1 to 8
     * @param withRegular whether the regular term {@code b·x₁} is present (input width 2)
     */
    public PowerCell(int k, boolean withRegular) {
        if (k < 1 || k > 8) {
            throw new IllegalArgumentException("power k must be in 1..8, got " + k);
        }
        this.k = k;
        this.withRegular = withRegular;
        this.a = addParameter(Parameter.builder().setName("a").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1)).optInitializer(Initializer.ONES).build());
        this.b = addParameter(Parameter.builder().setName("b").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1)).optInitializer(Initializer.ONES).build());
        this.s = addParameter(Parameter.builder().setName("s").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(1)).optInitializer(Initializer.ZEROS).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        NDArray av = ps.getValue(a, x.getDevice(), training);
        NDArray sv = ps.getValue(s, x.getDevice(), training);
        NDArray sk = sv;
        for (int i = 1; i < k; i++) {
            sk = sk.mul(sv);
        }
        NDArray dead = av.mul(sk).mul(withRegular ? x.get(":, 1:2") : x.get(":, 0:1"));
        if (!withRegular) {
            return new NDList(dead);
        }
        NDArray bv = ps.getValue(b, x.getDevice(), training);
        return new NDList(bv.mul(x.get(":, 0:1")).add(dead));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), 1)};
    }

    /** @return the parameter {@code a} */
    public Parameter a() {
        return a;
    }

    /** @return the parameter {@code b} (unused without the regular term) */
    public Parameter b() {
        return b;
    }

    /** @return the parameter {@code s} */
    public Parameter s() {
        return s;
    }
}
