package dev.deadwatch.capture;

import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.norm.BatchNorm;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The feature axis of each layer's output: the axis whose entries are the features the
 * activation reads count directions over; every other axis indexes rows (samples × positions).
 *
 * <p>DJL lays out dense and sequence tensors as {@code (N, …, D)} with the features last, and
 * convolution tensors as {@code (N, C, W)}, {@code (N, C, H, W)}, {@code (N, C, D, H, W)} with the
 * channels on axis 1. A layer's layout follows the data through the model, in forward order: a
 * {@link Convolution} produces the channel layout; a block with parameters of another kind (Linear,
 * LayerNorm, embeddings, attention) produces the last-axis layout; a {@link BatchNorm} and any
 * block without parameters (activations, pooling, dropout, flatten, …) keep the layout of what
 * came before. Outputs of rank 2 or less have one feature axis either way (the last). A user
 * overrides the choice for a layer by its path ({@code optFeatureAxis}).
 */
public final class FeatureAxes {

    /** The last axis. */
    public static final int LAST = -1;
    /** The channel axis of convolution layouts. */
    public static final int CHANNELS = 1;

    private FeatureAxes() {}

    /**
     * @param paths the model's paths
     * @param layers the tapped layers, in forward order
     * @param overrides layer path → axis (negative counts from the end), for layers the rule gets wrong
     * @return layer → feature axis ({@link #LAST} or {@link #CHANNELS} unless overridden)
     */
    public static Map<String, Integer> of(BlockPaths paths, List<String> layers, Map<String, Integer> overrides) {
        Map<String, Integer> out = new LinkedHashMap<>();
        int layout = LAST;
        for (String layer : layers) {
            Block b = paths.blockAt(layer);
            if (b instanceof Convolution) {
                layout = CHANNELS;
            } else if (!(b instanceof BatchNorm) && !b.getParameters().isEmpty()) {
                layout = LAST;
            }
            out.put(layer, overrides.getOrDefault(layer, layout));
        }
        return out;
    }

    /**
     * @param axis a feature axis ({@link #LAST}, {@link #CHANNELS}, or any axis, negative from the end)
     * @param rank the rank of the tensor
     * @return the axis as a non-negative index; the last axis for tensors of rank 2 or less
     * @throws IllegalArgumentException when the axis is outside the tensor
     */
    public static int resolve(int axis, int rank) {
        if (rank <= 2) {
            return Math.max(0, rank - 1);
        }
        int a = axis < 0 ? rank + axis : axis;
        if (a < 1 || a >= rank) {
            throw new IllegalArgumentException("feature axis " + axis + " is outside a rank-" + rank
                    + " tensor (axis 0 is the batch)");
        }
        return a;
    }
}
