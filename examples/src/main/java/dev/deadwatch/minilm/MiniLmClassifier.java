package dev.deadwatch.minilm;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The sentence encoder with a classification head: mean of the last hidden state over the
 * tokens (every sentence of the task has the same length, so no mask), then a Linear to the
 * class logits. Children: {@code encoder → pool → head}.
 */
public final class MiniLmClassifier extends AbstractBlock {

    private final MiniLm encoder;
    private final LambdaBlock pool;
    private final Linear head;
    private final int classes;

    /**
     * @param encoder the encoder
     * @param classes number of classes
     */
    public MiniLmClassifier(MiniLm encoder, int classes) {
        this.encoder = addChildBlock("encoder", encoder);
        this.pool = addChildBlock("pool", new LambdaBlock(l -> new NDList(l.head().mean(new int[] {1})), "meanPool"));
        this.head = addChildBlock("head", Linear.builder().setUnits(classes).build());
        this.classes = classes;
    }

    /** @return the encoder */
    public MiniLm encoder() {
        return encoder;
    }

    /** @return the head */
    public Linear head() {
        return head;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDList h = encoder.forward(ps, inputs, training);
        h = pool.forward(ps, h, training);
        return head.forward(ps, h, training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), classes)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        encoder.initialize(manager, dataType, inputShapes);
        int width = encoder.config().hidden();
        pool.initialize(manager, dataType, new Shape(inputShapes[0].get(0), inputShapes[0].get(1), width));
        head.initialize(manager, dataType, new Shape(-1, width));
    }
}
