package dev.deadwatch.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.List;

/** Which of a trained block's parameters, or of their gradients, hold a NaN or an infinity. */
final class NonFinite {

    private NonFinite() {}

    /**
     * @param b a block with initialized parameters
     * @param gradients check the parameters' gradients instead of their values
     * @return the parameters whose values (or gradients) hold a NaN or an infinity, in the block's order
     */
    static List<String> of(Block b, boolean gradients) {
        List<String> out = new ArrayList<>();
        for (Pair<String, Parameter> p : b.getParameters()) {
            NDArray a = gradients ? p.getValue().getArray().getGradient() : p.getValue().getArray();
            try (NDArray nan = a.isNaN(); NDArray inf = a.isInfinite(); NDArray any = nan.logicalOr(inf);
                    NDArray count = any.countNonzero()) {
                if (count.getLong() > 0) {
                    out.add(p.getKey());
                }
            } finally {
                if (gradients) {
                    a.close(); // each getGradient() is a new wrapper in the parameter's manager
                }
            }
        }
        return out;
    }
}
