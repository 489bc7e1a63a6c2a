package dev.deadwatch.reads;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The structural part of a layer's count of non-active directions (docs/method.md §2): those the
 * architecture forces, by cause. They are not deaths and do not count in the headline.
 *
 * @param normKernel the LayerNorm inverse-scale kernel {@code u} on a LayerNorm's own output (0 or 1)
 * @param inputRank a linear map (Linear, Convolution) cannot have more active output directions
 *     than its input has: the output's resolvable width beyond the input's active directions
 *     (times the kernel volume for a convolution)
 * @param inherited a per-feature or parameter-free layer (activation, pooling, dropout, BatchNorm,
 *     LayerNorm) of the same width carries its input's non-active directions through: counted in
 *     the layer where they arose, not again here
 */
public record Structure(int normKernel, int inputRank, int inherited) {

    /** No structural direction. */
    public static final Structure NONE = new Structure(0, 0, 0);
    /** The {@code cause} label values, in the order of the components. */
    public static final List<String> CAUSES = List.of("norm_kernel", "input_rank", "inherited");

    /** Validates. */
    public Structure {
        if (normKernel < 0 || inputRank < 0 || inherited < 0) {
            throw new IllegalArgumentException("structural counts must be >= 0, got " + normKernel + ", "
                    + inputRank + ", " + inherited);
        }
    }

    /** @return all structural directions */
    public int total() {
        return normKernel + inputRank + inherited;
    }

    /** @return cause label → count, for every cause of {@link #CAUSES} */
    public Map<String, Integer> byCause() {
        Map<String, Integer> out = new LinkedHashMap<>();
        out.put(CAUSES.get(0), normKernel);
        out.put(CAUSES.get(1), inputRank);
        out.put(CAUSES.get(2), inherited);
        return out;
    }
}
