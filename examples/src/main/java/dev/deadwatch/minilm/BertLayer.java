package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One post-norm BERT layer: {@code x₁ = LN_a(x + O·attention(x))},
 * {@code x₂ = LN_b(x₁ + W₂ gelu(W₁ x₁))}, GELU the exact (erf) one, as in the ONNX graph
 * ({@code x · 0.5 · (1 + erf(x/√2))}). Its children, in forward order, are siblings the detectors
 * read: {@code attention → attentionOutput → attentionNorm → intermediate → gelu → output →
 * outputNorm}, so {@code attentionNorm → intermediate} is a LayerNorm gauge and
 * {@code intermediate → gelu → output} a node-death site.
 */
public final class BertLayer extends AbstractBlock {

    private final MiniLm.Config config;
    private final BertSelfAttention attention;
    private final Linear attentionOutput;
    private final LayerNorm attentionNorm;
    private final Linear intermediate;
    private final Block gelu;
    private final Linear output;
    private final LayerNorm outputNorm;

    /** @param config the model's dimensions */
    public BertLayer(MiniLm.Config config) {
        this.config = config;
        this.attention = addChildBlock("attention", new BertSelfAttention(config));
        this.attentionOutput = addChildBlock("attentionOutput", Linear.builder().setUnits(config.hidden()).build());
        this.attentionNorm = addChildBlock("attentionNorm", MiniLm.layerNorm(config));
        this.intermediate = addChildBlock("intermediate", Linear.builder().setUnits(config.intermediate()).build());
        this.gelu = addChildBlock("gelu", Activation.geluBlock());
        this.output = addChildBlock("output", Linear.builder().setUnits(config.hidden()).build());
        this.outputNorm = addChildBlock("outputNorm", MiniLm.layerNorm(config));
    }

    /** @return the self-attention (query, key, value) */
    public BertSelfAttention attention() {
        return attention;
    }

    /** @return the attention's output projection */
    public Linear attentionOutput() {
        return attentionOutput;
    }

    /** @return the LayerNorm after the attention */
    public LayerNorm attentionNorm() {
        return attentionNorm;
    }

    /** @return the MLP's first Linear */
    public Linear intermediate() {
        return intermediate;
    }

    /** @return the MLP's second Linear */
    public Linear output() {
        return output;
    }

    /** @return the LayerNorm after the MLP */
    public LayerNorm outputNorm() {
        return outputNorm;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.head();
        NDList attIn = inputs.size() > 1 ? new NDList(x, inputs.get(1)) : new NDList(x);
        NDArray a = attention.forward(ps, attIn, training).head();
        a = attentionOutput.forward(ps, new NDList(a), training).head();
        NDArray x1 = attentionNorm.forward(ps, new NDList(x.add(a)), training).head();
        NDArray h = intermediate.forward(ps, new NDList(x1), training).head();
        h = gelu.forward(ps, new NDList(h), training).head();
        h = output.forward(ps, new NDList(h), training).head();
        return outputNorm.forward(ps, new NDList(x1.add(h)), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        attention.initialize(manager, dataType, x);
        Shape h = new Shape(-1, config.hidden());
        attentionOutput.initialize(manager, dataType, h);
        attentionNorm.initialize(manager, dataType, x);
        intermediate.initialize(manager, dataType, h);
        gelu.initialize(manager, dataType, new Shape(-1, config.intermediate()));
        output.initialize(manager, dataType, new Shape(-1, config.intermediate()));
        outputNorm.initialize(manager, dataType, x);
    }
}
