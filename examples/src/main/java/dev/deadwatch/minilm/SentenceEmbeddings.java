package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ParameterState;
import java.util.List;

/**
 * Sentence embeddings as the sentence encoder defines them: the last hidden state averaged over
 * the sentence's tokens (mask-weighted), then scaled to unit length.
 */
public final class SentenceEmbeddings {

    private SentenceEmbeddings() {}

    /**
     * @param encoder an initialised encoder ({@link MiniLm})
     * @param tokens the tokenizer
     * @param texts the sentences (one batch, padded to the longest)
     * @return one unit vector per sentence
     */
    public static double[][] embed(Block encoder, Tokens tokens, List<String> texts) {
        NDManager parent = encoder.getParameters().get(0).getValue().getArray().getManager();
        try (NDManager m = parent.newSubManager()) {
            NDList in = tokens.batch(m, texts);
            NDArray hidden = GradMode.off(() -> encoder.forward(new ParameterStore(m, false), in, false).head());
            hidden.attach(m);
            NDArray mask = in.get(1).toType(hidden.getDataType(), false).expandDims(2);
            NDArray mean = hidden.mul(mask).sum(new int[] {1}).div(mask.sum(new int[] {1}));
            NDArray unit = mean.div(mean.norm(new int[] {1}, true));
            double[] flat = ParameterState.toDoubles(unit.toType(DataType.FLOAT64, false));
            int d = (int) unit.getShape().get(1);
            double[][] out = new double[texts.size()][d];
            for (int i = 0; i < out.length; i++) {
                System.arraycopy(flat, i * d, out[i], 0, d);
            }
            return out;
        }
    }
}
