package dev.deadwatch.examples;

import ai.djl.ndarray.NDArray;
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
import ai.djl.nn.transformer.IdEmbedding;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.util.PairList;
import dev.deadwatch.blocks.SelfAttention;
import java.util.SplittableRandom;

/**
 * A BERT-style (post-norm) encoder built from DJL's {@link IdEmbedding}, {@link Linear},
 * {@link LayerNorm} and GELU and this project's {@link SelfAttention}, classifying token sequences
 * from the first position: token and position embeddings, {@code layers} × (attention, add,
 * LayerNorm, Linear → GELU → Linear, add, LayerNorm), a Linear head. {@link Size#MINILM} is the
 * size of MiniLM-L6-H384.
 */
public final class MiniEncoder {

    private MiniEncoder() {}

    /**
     * @param vocab token ids {@code 0 … vocab-1}
     * @param positions sequence length
     * @param width model width
     * @param heads attention heads
     * @param layers encoder layers
     * @param ffn feed-forward hidden width
     * @param classes labels
     */
    public record Size(int vocab, int positions, int width, int heads, int layers, int ffn, int classes) {

        /** MiniLM-L6-H384's dimensions (vocabulary of BERT's uncased WordPiece), 32 positions. */
        public static final Size MINILM = new Size(30522, 32, 384, 12, 6, 1536, 4);

        /** A small encoder of the same layout, for the test suite. */
        public static final Size SMALL = new Size(200, 8, 32, 4, 2, 64, 4);

        /** @return the input shape of a batch of {@code n} sequences */
        public Shape inputShape(int n) {
            return new Shape(n, positions);
        }
    }

    /**
     * @param s the size
     * @return a fresh block
     */
    public static Block build(Size s) {
        SequentialBlock b = new SequentialBlock().add(new Embeddings(s.vocab(), s.positions(), s.width()))
                .add(LayerNorm.builder().axis(2).build());
        for (int i = 0; i < s.layers(); i++) {
            b.add(new TinyTransformer.Residual(new SelfAttention(s.width(), s.heads(), false)))
                    .add(LayerNorm.builder().axis(2).build())
                    .add(new TinyTransformer.Residual(new SequentialBlock()
                            .add(Linear.builder().setUnits(s.ffn()).build())
                            .add(Activation.geluBlock())
                            .add(Linear.builder().setUnits(s.width()).build())))
                    .add(LayerNorm.builder().axis(2).build());
        }
        return b.add(new LambdaBlock(l -> new NDList(l.head().get(":, 0, :")), "first"))
                .add(Linear.builder().setUnits(s.classes()).build());
    }

    /**
     * Random token sequences labelled by a function of their first two tokens: {@code (t₀ + t₁) mod
     * classes}.
     *
     * @param m manager of the arrays
     * @param s the size
     * @param samples sequences
     * @param batch batch size (sequential sampling)
     * @param seed data seed
     * @return the data set (ids as int64)
     */
    public static ArrayDataset data(NDManager m, Size s, int samples, int batch, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long[] ids = new long[samples * s.positions()];
        float[] labels = new float[samples];
        for (int i = 0; i < samples; i++) {
            for (int p = 0; p < s.positions(); p++) {
                ids[i * s.positions() + p] = rng.nextInt(s.vocab());
            }
            labels[i] = (ids[i * s.positions()] + ids[i * s.positions() + 1]) % s.classes();
        }
        NDArray x = m.create(ids, new Shape(samples, s.positions()));
        NDArray y = m.create(labels, new Shape(samples));
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(batch, false).build();
    }

    /** Token embedding plus position embedding, both {@link IdEmbedding}s. */
    static final class Embeddings extends AbstractBlock {
        private final int positions;
        private final int width;
        private final IdEmbedding tokens;
        private final IdEmbedding position;

        Embeddings(int vocab, int positions, int width) {
            this.positions = positions;
            this.width = width;
            this.tokens = addChildBlock("tokens",
                    new IdEmbedding.Builder().setDictionarySize(vocab).setEmbeddingSize(width).build());
            this.position = addChildBlock("positions",
                    new IdEmbedding.Builder().setDictionarySize(positions).setEmbeddingSize(width).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                PairList<String, Object> params) {
            NDArray ids = inputs.head();
            NDManager m = ids.getManager();
            NDArray t = tokens.forward(ps, new NDList(ids), training).head();
            NDArray at = m.arange(0, (int) ids.getShape().get(1), 1, DataType.INT64).reshape(1, -1);
            NDArray p = position.forward(ps, new NDList(at), training).head();
            return new NDList(t.add(p));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {inputShapes[0].add(width)};
        }

        @Override
        protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
            tokens.initialize(manager, dataType, inputShapes);
            position.initialize(manager, dataType, new Shape(1, positions));
        }
    }
}
