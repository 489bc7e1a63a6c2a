package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/**
 * BERT's input embeddings: word, position and token-type tables summed, then a LayerNorm. The
 * three tables are this block's own parameters ({@code word}, {@code position},
 * {@code tokenType}) rather than child blocks, so the activation reads see the embeddings through
 * their LayerNorm alone: a table's output on a probe of template sentences has one distinct row
 * per token the probe uses, a property of the probe, which the reads would otherwise count as
 * dead directions of the table. Every input is one segment (token type 0), as in the sentence
 * encoder's own use.
 */
public final class BertEmbeddings extends AbstractBlock {

    private final MiniLm.Config config;
    private final Parameter word;
    private final Parameter position;
    private final Parameter tokenType;
    private final LayerNorm norm;

    /** @param config the model's dimensions */
    public BertEmbeddings(MiniLm.Config config) {
        this.config = config;
        this.word = addParameter(table("word", config.vocabulary()));
        this.position = addParameter(table("position", config.maxPositions()));
        this.tokenType = addParameter(table("tokenType", config.typeVocabulary()));
        this.norm = addChildBlock("LayerNorm", MiniLm.layerNorm(config));
    }

    private Parameter table(String name, int rows) {
        return Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(rows, config.hidden()))
                .optInitializer(new NormalInitializer(0.02f)).build();
    }

    /** @return the LayerNorm */
    public LayerNorm norm() {
        return norm;
    }

    /** @return the word table {@code (vocabulary, hidden)} */
    public Parameter word() {
        return word;
    }

    /** @return the position table {@code (maxPositions, hidden)} */
    public Parameter position() {
        return position;
    }

    /** @return the token-type table {@code (typeVocabulary, hidden)} */
    public Parameter tokenType() {
        return tokenType;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray ids = inputs.head();
        long length = ids.getShape().get(1);
        if (length > config.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + length + " tokens, at most "
                    + config.maxPositions());
        }
        NDArray w = ps.getValue(word, ids.getDevice(), training);
        NDArray p = ps.getValue(position, ids.getDevice(), training);
        NDArray t = ps.getValue(tokenType, ids.getDevice(), training);
        NDArray longIds = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        NDArray words = ids.getNDArrayInternal().embedding(longIds, w, SparseFormat.DENSE).head();
        NDArray positions = p.get("0:" + length); // (T, hidden): position j of every sequence
        NDArray sum = words.add(positions).add(t.get(0));
        return norm.forward(ps, new NDList(sum), training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {new Shape(in.get(0), in.get(1), config.hidden())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = inputShapes[0];
        norm.initialize(manager, dataType, new Shape(in.get(0), in.get(1), config.hidden()));
    }
}
