package dev.deadwatch.minilm;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * The sentence encoder's tokenizer: the artifact's own {@code tokenizer.json} run by DJL's
 * HuggingFace tokenizers (its native library is inside its jar, for Linux x86_64 and others:
 * nothing is downloaded), configured as langchain4j configures it (no padding; {@code [CLS]} and
 * {@code [SEP]} added), so the token ids are the reference's own.
 */
public final class Tokens implements AutoCloseable {

    /** The tokenizer inside the langchain4j artifact, on the classpath. */
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    private final HuggingFaceTokenizer tokenizer;

    private Tokens(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * @return the all-MiniLM-L6-v2 tokenizer
     * @throws IOException if the resource is missing or unreadable
     */
    public static Tokens allMiniLmL6V2() throws IOException {
        try (InputStream in = Tokens.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
            if (in == null) {
                throw new IOException(TOKENIZER_RESOURCE + " is not on the classpath");
            }
            return new Tokens(HuggingFaceTokenizer.newInstance(in, Map.of("padding", "false")));
        }
    }

    /**
     * @param text a sentence
     * @return its token ids, {@code [CLS] … [SEP]}
     */
    public long[] ids(String text) {
        Encoding e = tokenizer.encode(text, true, false);
        return e.getIds();
    }

    /**
     * A batch: token ids padded with 0 ({@code [PAD]}) to the longest, and the attention mask.
     *
     * @param manager owner of the arrays
     * @param texts the sentences
     * @return {@code (ids, mask)}, both int64 {@code (N, T)}
     */
    public NDList batch(NDManager manager, List<String> texts) {
        long[][] ids = texts.stream().map(this::ids).toArray(long[][]::new);
        int t = 0;
        for (long[] a : ids) {
            t = Math.max(t, a.length);
        }
        long[] flat = new long[ids.length * t];
        long[] mask = new long[ids.length * t];
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < ids[i].length; j++) {
                flat[i * t + j] = ids[i][j];
                mask[i * t + j] = 1;
            }
        }
        Shape s = new Shape(ids.length, t);
        return new NDList(manager.create(flat, s), manager.create(mask, s));
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
