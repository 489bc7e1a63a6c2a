package dev.deadwatch.reads;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.FeatureAxes;
import dev.deadwatch.capture.ParameterState;

/**
 * The structural part of a layer's non-active directions (docs/method.md §2), from what kind of
 * block it is and what its input lacks. Each part is capped so that unresolved, structural and
 * dead add up to the layer's count.
 */
final class LayerStructure {

    private LayerStructure() {}

    /**
     * @param block the layer's block, or {@code null} when unknown
     * @return whether its structure depends on what its input lacks
     */
    static boolean dependsOnInput(Block block) {
        return block instanceof Linear || block instanceof Convolution || perFeature(block);
    }

    /**
     * @param block the layer's block
     * @param outputAxis the feature axis of its output
     * @return the feature axis of its input: the last for a Linear, the channels for a
     *     convolution, the output's for a per-feature block
     */
    static int inputAxis(Block block, int outputAxis) {
        if (block instanceof Linear) {
            return FeatureAxes.LAST;
        }
        return block instanceof Convolution ? FeatureAxes.CHANNELS : outputAxis;
    }

    /**
     * @param block the layer's block, or {@code null}
     * @param width its output's feature width
     * @param total its output's non-active directions, -1 for a zero output
     * @param unresolved the part its rows cannot span
     * @param normKernel the LayerNorm kernel on this output (0 or 1)
     * @param in what its input lacks, or {@code null} when unknown
     * @return the structure
     */
    static Structure of(Block block, int width, int total, int unresolved, int normKernel, DdsRead.Deficiency in) {
        if (total < 0) {
            return Structure.NONE;
        }
        int left = Math.max(0, total - unresolved);
        int kernel = Math.min(normKernel, left);
        left -= kernel;
        int inputRank = 0;
        int inherited = 0;
        if (in != null) {
            int resolvable = width - unresolved;
            if (block instanceof Linear) {
                inputRank = Math.min(left, Math.max(0, resolvable - in.active()));
            } else if (block instanceof Convolution) {
                long bound = (long) in.active() * kernelVolume(block);
                inputRank = (int) Math.min(left, Math.max(0, resolvable - bound));
            } else if (perFeature(block) && in.width() == width) {
                inherited = Math.min(left, Math.max(0, in.total() - in.unresolved()));
            }
        }
        return new Structure(kernel, inputRank, inherited);
    }

    /** A block that maps each feature (or channel) of its input to the same feature of its output. */
    private static boolean perFeature(Block block) {
        return block != null && (block.getParameters().isEmpty() || block instanceof BatchNorm
                || block instanceof LayerNorm);
    }

    private static long kernelVolume(Block conv) {
        Parameter w = ParameterState.parameter(conv, "weight");
        if (w == null || !w.isInitialized()) {
            return 1;
        }
        Shape s = w.getArray().getShape();
        long v = 1;
        for (int i = 2; i < s.dimension(); i++) {
            v *= s.get(i);
        }
        return v;
    }
}
