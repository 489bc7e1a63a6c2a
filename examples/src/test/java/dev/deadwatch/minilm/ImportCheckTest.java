package dev.deadwatch.minilm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.nn.Parameter;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The import: the DJL model's sentence embeddings equal those of the artifact's own model (ONNX
 * Runtime on the same ONNX file, langchain4j's tokenisation and pooling) within
 * {@link MiniLmDemo#IMPORT_TOLERANCE}.
 */
class ImportCheckTest {

    /** Padding changes nothing but float rounding. */
    private static final double PADDING_TOLERANCE = 1e-5;

    @Test
    void sentenceEmbeddingsEqualOnnxRuntimes() throws Exception {
        List<float[]> reference = MiniLmDemo.reference(Sentences.IMPORT_CHECK);
        try (Tokens tokens = Tokens.allMiniLmL6V2()) {
            double[][] mine = SentenceEmbeddings.embed(Pretrained.model(), tokens, Sentences.IMPORT_CHECK);
            double diff = MiniLmDemo.maxAbsDiff(mine, reference);
            assertThat(diff).isLessThanOrEqualTo(MiniLmDemo.IMPORT_TOLERANCE);
            for (double[] e : mine) { // unit vectors, and not all the same
                double n = 0;
                for (double v : e) {
                    n += v * v;
                }
                assertThat(Math.sqrt(n)).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-6));
            }
            assertThat(MiniLmDemo.maxAbsDiff(new double[][] {mine[0]}, List.of(reference.get(1))))
                    .isGreaterThan(100 * MiniLmDemo.IMPORT_TOLERANCE);
        }
    }

    @Test
    void theCheckFailsWhenOneNormIsOffByOnePercent() throws Exception {
        MiniLm model = Pretrained.model();
        Parameter gamma = model.layers().get(3).outputNorm().getParameters().get("gamma");
        float[] saved = gamma.getArray().toFloatArray();
        float[] off = saved.clone();
        for (int i = 0; i < off.length; i++) {
            off[i] *= 1.01f;
        }
        List<float[]> reference = MiniLmDemo.reference(Sentences.IMPORT_CHECK);
        try (Tokens tokens = Tokens.allMiniLmL6V2()) {
            Checkpoint.write(gamma.getArray(), off);
            double diff = MiniLmDemo.maxAbsDiff(SentenceEmbeddings.embed(model, tokens, Sentences.IMPORT_CHECK), reference);
            assertThat(diff).isGreaterThan(MiniLmDemo.IMPORT_TOLERANCE);
        } finally {
            Checkpoint.write(gamma.getArray(), saved);
        }
    }

    @Test
    void tokensAreBertsUncasedWordPiecesAndPaddingChangesNothing() throws Exception {
        try (Tokens tokens = Tokens.allMiniLmL6V2()) {
            assertThat(tokens.ids("The cat sat on the mat."))
                    .containsExactly(101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102);
            String shortOne = "Hello!";
            double[] alone = SentenceEmbeddings.embed(Pretrained.model(), tokens, List.of(shortOne))[0];
            double[] padded = SentenceEmbeddings.embed(Pretrained.model(), tokens,
                    List.of(Sentences.IMPORT_CHECK.get(2), shortOne))[1];
            double max = 0;
            for (int i = 0; i < alone.length; i++) {
                max = Math.max(max, Math.abs(alone[i] - padded[i]));
            }
            assertThat(max).isLessThan(PADDING_TOLERANCE);
        }
    }
}
