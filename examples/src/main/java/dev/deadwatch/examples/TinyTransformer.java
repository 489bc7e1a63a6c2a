package dev.deadwatch.examples;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.deadwatch.blocks.RmsNorm;
import dev.deadwatch.blocks.SelfAttention;
import java.util.function.Supplier;

/**
 * A one-block pre-norm transformer over a short sequence of one-hot tokens (with one-hot
 * positions appended), reading out the last position. Laid out as sibling sequences so the
 * detectors see {@code norm → Linear} (LayerNorm kernel), {@code Linear → ReLU → Linear}
 * (node death, bottom subspace) and the attention block (query–key rotation).
 */
public final class TinyTransformer {

    private TinyTransformer() {}

    /** The normalisation used throughout. */
    public enum Norm {
        /** DJL's LayerNorm over the last axis (mean-subtracting: has the kernel). */
        LAYER_NORM,
        /** RMSNorm (no mean subtraction: no kernel). */
        RMS_NORM
    }

    /**
     * @param features input width (one-hot tokens + positions)
     * @param width model width
     * @param heads attention heads
     * @param mlp MLP hidden width
     * @param outputs logits
     * @param norm normalisation
     * @return a fresh block
     */
    public static Block build(int features, int width, int heads, int mlp, int outputs, Norm norm) {
        Supplier<Block> n = () -> norm == Norm.LAYER_NORM ? LayerNorm.builder().axis(2).build() : new RmsNorm();
        return new SequentialBlock()
                .add(Linear.builder().setUnits(width).optBias(false).build())
                .add(new Residual(new SequentialBlock().add(n.get()).add(new SelfAttention(width, heads, false))))
                .add(new Residual(new SequentialBlock().add(n.get())
                        .add(Linear.builder().setUnits(mlp).build())
                        .add(Activation.reluBlock())
                        .add(Linear.builder().setUnits(width).build())))
                .add(new LambdaBlock(l -> new NDList(l.head().get(":, -1:, :")), "last"))
                .add(n.get())
                .add(new LambdaBlock(l -> new NDList(l.head().squeeze(1)), "squeeze"))
                .add(Linear.builder().setUnits(outputs).build());
    }

    /** {@code x + inner(x)}. */
    public static final class Residual extends AbstractBlock {
        private final Block inner;

        /** @param inner the residual branch */
        public Residual(Block inner) {
            this.inner = addChildBlock("branch", inner);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return new NDList(inputs.head().add(inner.forward(ps, inputs, training, params).head()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
            inner.initialize(manager, dataType, shapes);
        }
    }
}
