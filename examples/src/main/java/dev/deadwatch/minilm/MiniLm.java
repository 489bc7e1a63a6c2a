package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A BERT-type encoder in DJL blocks, laid out to hold the weights of all-MiniLM-L6-v2: input
 * embeddings with their LayerNorm, then {@link Config#layers()} post-norm {@link BertLayer}s. Its
 * output is the last hidden state {@code (N, T, hidden)}.
 *
 * <p>DJL's own {@code ai.djl.nn.transformer} blocks normalise with {@code BatchNorm} (axis 2),
 * where BERT has LayerNorm (docs/findings.md), so they cannot hold BERT's weights: this one is
 * assembled from {@link LayerNorm} ({@code ε = 1e-12}, BERT's), {@link Linear} and the exact
 * GELU.
 *
 * <p>Inputs: token ids {@code (N, T)} (int64), and optionally the attention mask {@code (N, T)}
 * (1 for a token, 0 for padding). Without a mask every position is a token.
 */
public final class MiniLm extends AbstractBlock {

    /**
     * The value the ONNX graph adds to the attention scores of a padded key:
     * {@code (1 − mask) · float32.min}.
     */
    public static final double MASK_MIN = -3.4028234663852886E38;

    /**
     * The encoder's dimensions.
     *
     * @param vocabulary word-piece vocabulary
     * @param maxPositions position table rows
     * @param typeVocabulary token-type table rows
     * @param hidden width
     * @param layers layers
     * @param heads attention heads
     * @param intermediate MLP width
     * @param epsilon LayerNorm ε
     */
    public record Config(int vocabulary, int maxPositions, int typeVocabulary, int hidden, int layers,
            int heads, int intermediate, float epsilon) {

        /** all-MiniLM-L6-v2: 30522 word pieces, 512 positions, width 384, 6 layers of 12 heads, MLP 1536. */
        public static final Config ALL_MINILM_L6_V2 = new Config(30522, 512, 2, 384, 6, 12, 1536, 1e-12f);

        /** Validates. */
        public Config {
            if (hidden % heads != 0) {
                throw new IllegalArgumentException("hidden " + hidden + " is not a multiple of heads " + heads);
            }
        }

        /** @return LayerNorms of the model: one for the embeddings and two per layer */
        public int layerNorms() {
            return 1 + 2 * layers;
        }
    }

    private final Config config;
    private final BertEmbeddings embeddings;
    private final List<BertLayer> layers = new ArrayList<>();

    /** @param config the dimensions */
    public MiniLm(Config config) {
        this.config = config;
        this.embeddings = addChildBlock("embeddings", new BertEmbeddings(config));
        for (int i = 0; i < config.layers(); i++) {
            layers.add(addChildBlock("layer" + i, new BertLayer(config)));
        }
    }

    /** @return a fresh all-MiniLM-L6-v2 encoder (uninitialised) */
    public static MiniLm allMiniLmL6V2() {
        return new MiniLm(Config.ALL_MINILM_L6_V2);
    }

    static LayerNorm layerNorm(Config config) {
        return LayerNorm.builder().axis(2).optEpsilon(config.epsilon()).build();
    }

    /** @return the dimensions */
    public Config config() {
        return config;
    }

    /** @return the embeddings */
    public BertEmbeddings embeddings() {
        return embeddings;
    }

    /** @return the layers, in order */
    public List<BertLayer> layers() {
        return List.copyOf(layers);
    }

    /**
     * @return every LayerNorm by its name in the original checkpoint
     *     ({@code embeddings.LayerNorm}, {@code encoder.layer.0.attention.output.LayerNorm}, …), in
     *     forward order
     */
    public Map<String, LayerNorm> layerNorms() {
        Map<String, LayerNorm> out = new LinkedHashMap<>();
        out.put("embeddings.LayerNorm", embeddings.norm());
        for (int i = 0; i < layers.size(); i++) {
            out.put(layerName(i) + ".attention.output.LayerNorm", layers.get(i).attentionNorm());
            out.put(layerName(i) + ".output.LayerNorm", layers.get(i).outputNorm());
        }
        return out;
    }

    /**
     * @return every parameter of this block with the name of the checkpoint tensor it holds, in
     *     {@code getParameters()} order; a Linear's weight is the checkpoint's {@code (out, in)}
     *     matrix
     */
    public Map<Parameter, String> checkpointNames() {
        Map<Parameter, String> out = new LinkedHashMap<>();
        out.put(embeddings.word(), "embeddings.word_embeddings.weight");
        out.put(embeddings.position(), "embeddings.position_embeddings.weight");
        out.put(embeddings.tokenType(), "embeddings.token_type_embeddings.weight");
        norm(out, embeddings.norm(), "embeddings.LayerNorm");
        for (int i = 0; i < layers.size(); i++) {
            BertLayer l = layers.get(i);
            String p = layerName(i);
            linear(out, l.attention().queryProjection(), p + ".attention.self.query");
            linear(out, l.attention().keyProjection(), p + ".attention.self.key");
            linear(out, l.attention().valueProjection(), p + ".attention.self.value");
            linear(out, l.attentionOutput(), p + ".attention.output.dense");
            norm(out, l.attentionNorm(), p + ".attention.output.LayerNorm");
            linear(out, l.intermediate(), p + ".intermediate.dense");
            linear(out, l.output(), p + ".output.dense");
            norm(out, l.outputNorm(), p + ".output.LayerNorm");
        }
        return out;
    }

    private static String layerName(int i) {
        return "encoder.layer." + i;
    }

    private static void linear(Map<Parameter, String> out, Linear l, String name) {
        out.put(l.getParameters().get("weight"), name + ".weight");
        out.put(l.getParameters().get("bias"), name + ".bias");
    }

    private static void norm(Map<Parameter, String> out, LayerNorm n, String name) {
        out.put(n.getParameters().get("gamma"), name + ".weight");
        out.put(n.getParameters().get("beta"), name + ".bias");
    }

    /**
     * The additive attention mask of the ONNX graph: {@code (1 − mask) · MASK_MIN}, shaped
     * {@code (N, 1, 1, T)}.
     *
     * @param mask {@code (N, T)}, 1 for a token and 0 for padding
     * @param type the hidden states' data type
     * @return the bias to add to the attention scores
     */
    public static NDArray maskBias(NDArray mask, DataType type) {
        long n = mask.getShape().get(0);
        long t = mask.getShape().get(1);
        return mask.toType(type, false).neg().add(1).mul(MASK_MIN).reshape(n, 1, 1, t);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = embeddings.forward(ps, new NDList(inputs.head()), training).head();
        NDArray bias = inputs.size() > 1 ? maskBias(inputs.get(1), x.getDataType()) : null;
        for (BertLayer l : layers) {
            x = l.forward(ps, bias == null ? new NDList(x) : new NDList(x, bias), training).head();
        }
        return new NDList(x);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {new Shape(in.get(0), in.get(1), config.hidden())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        embeddings.initialize(manager, dataType, ids);
        Shape x = new Shape(ids.get(0), ids.get(1), config.hidden());
        for (BertLayer l : layers) {
            l.initialize(manager, dataType, x);
        }
    }
}
