package dev.deadwatch.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.blocks.PositionEmbedding;
import dev.deadwatch.blocks.SelfAttention;
import java.util.function.Function;

/**
 * The one-block transformer of the grokking literature, over the three tokens {@code a b =}:
 * token embedding (a bias-free Linear on one-hot tokens), learned position embeddings, a pre-norm
 * attention block and a pre-norm MLP block on the residual stream, a final LayerNorm on the last
 * position and the unembedding.
 *
 * <p>Laid out for the detectors, which look for patterns among siblings: the MLP branch is
 * {@code LayerNorm → Linear → activation → Linear} (the LayerNorm kernel, then node death), the
 * attention branch {@code LayerNorm → SelfAttention} (query–key rotation), and the head
 * {@code LayerNorm → Linear} (the LayerNorm kernel again).
 */
public final class ModularTransformer {

    /** Sequence length: {@code a}, {@code b} and the {@code =} token. */
    public static final int POSITIONS = 3;

    private ModularTransformer() {}

    /** The MLP's activation, with the order a dead unit of it has (docs/method.md §3). */
    public enum Act {
        /** ReLU: degree 1 at 0, a dead unit has order 2. */
        RELU(Activation::relu, 2),
        /** Squared ReLU: degree 2 at 0, order 3. */
        RELU_SQUARED(x -> Activation.relu(x).square(), 3);

        private final Function<NDArray, NDArray> f;
        private final int deadOrder;

        Act(Function<NDArray, NDArray> f, int deadOrder) {
            this.f = f;
            this.deadOrder = deadOrder;
        }

        /** @return the order {@code k = p + 1} of a dead unit, {@code p} the degree at 0 */
        public int deadOrder() {
            return deadOrder;
        }

        Block block() {
            return new LambdaBlock(l -> new NDList(f.apply(l.head())), name());
        }
    }

    /**
     * @param vocab token vocabulary (one-hot width)
     * @param width model width
     * @param heads attention heads (dividing {@code width})
     * @param mlp MLP hidden width
     * @param outputs logits
     * @param act the MLP's activation
     * @return a fresh block taking one-hot tokens {@code (batch, POSITIONS, vocab)}
     */
    public static Block build(int vocab, int width, int heads, int mlp, int outputs, Act act) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be positive, got " + vocab);
        }
        return new SequentialBlock()
                .add(Linear.builder().setUnits(width).optBias(false).build())
                .add(new PositionEmbedding(POSITIONS, width, 1f / (float) Math.sqrt(width)))
                .add(new TinyTransformer.Residual(new SequentialBlock()
                        .add(LayerNorm.builder().axis(2).build())
                        .add(new SelfAttention(width, heads, false))))
                .add(new TinyTransformer.Residual(new SequentialBlock()
                        .add(LayerNorm.builder().axis(2).build())
                        .add(Linear.builder().setUnits(mlp).build())
                        .add(act.block())
                        .add(Linear.builder().setUnits(width).build())))
                .add(new LambdaBlock(l -> new NDList(l.head().get(":, -1:, :").squeeze(1)), "last"))
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(outputs).build());
    }
}
