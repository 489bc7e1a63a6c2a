package dev.deadwatch.minilm;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The inputs of the MiniLM example, all generated here (nothing is downloaded):
 * <ul>
 *   <li>{@link #IMPORT_CHECK}: a fixed set of sentences of different lengths (with punctuation,
 *       digits, accents and a word split into pieces) on which the import is checked;</li>
 *   <li>{@link #wordSalad}: the probe of the frozen read, sequences of random whole-word tokens,
 *       so its rows span the model's input space rather than a template's few dozen tokens;</li>
 *   <li>{@link Task}: the fine-tuning task, sentiment with negation from a template: every
 *       sentence has the same number of tokens, so batches need no padding.</li>
 * </ul>
 */
public final class Sentences {

    private Sentences() {}

    /** The sentences of the import check. */
    public static final List<String> IMPORT_CHECK = List.of(
            "The cat sat on the mat.",
            "A man is playing a guitar on the street corner.",
            "Deadwatch reads the dead directions of a neural network while it trains.",
            "Hello!",
            "The quick brown fox jumps over the lazy dog, 42 times in 2024.",
            "Café au lait, naïve résumé — déjà vu.",
            "Sentence embeddings map text to vectors of 384 numbers.",
            "Is the stock market going up or down tomorrow?");

    private static final Pattern WORD = Pattern.compile("[a-z]{3,}");

    /**
     * Sequences of random whole-word tokens ({@code [CLS] w₁ … w_L [SEP]}), drawn from the
     * vocabulary's lower-case words of three letters or more.
     *
     * @param count sequences
     * @param words words per sequence (the sequence has two more tokens)
     * @param seed seed
     * @return token ids, {@code count × (words + 2)}
     */
    public static long[][] wordSalad(int count, int words, long seed) throws IOException {
        List<Long> pool = new ArrayList<>();
        for (Map.Entry<String, Integer> e : vocabulary().entrySet()) {
            if (WORD.matcher(e.getKey()).matches()) {
                pool.add((long) e.getValue());
            }
        }
        Collections.sort(pool);
        Random rnd = new Random(seed);
        long[][] out = new long[count][words + 2];
        for (long[] row : out) {
            row[0] = CLS;
            for (int j = 1; j <= words; j++) {
                row[j] = pool.get(rnd.nextInt(pool.size()));
            }
            row[words + 1] = SEP;
        }
        return out;
    }

    /** {@code [CLS]}. */
    public static final long CLS = 101;
    /** {@code [SEP]}. */
    public static final long SEP = 102;

    /** @return the tokenizer's vocabulary, token → id, sorted by token */
    static Map<String, Integer> vocabulary() throws IOException {
        try (InputStream in = Sentences.class.getResourceAsStream(Tokens.TOKENIZER_RESOURCE)) {
            if (in == null) {
                throw new IOException(Tokens.TOKENIZER_RESOURCE + " is not on the classpath");
            }
            JsonObject vocab = JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8))
                    .getAsJsonObject().getAsJsonObject("model").getAsJsonObject("vocab");
            Map<String, Integer> out = new TreeMap<>();
            vocab.entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsInt()));
            return out;
        }
    }

    /**
     * Sentiment with negation: {@code "the <noun> was <modifier> <adjective> ."}, positive when
     * the adjective's polarity and the modifier agree ({@code "not bad"} is positive,
     * {@code "really bad"} negative). The words are single word pieces, so every sentence is
     * {@link #LENGTH} tokens.
     *
     * @param sentences the sentences
     * @param labels 1 positive, 0 negative
     */
    public record Task(List<String> sentences, int[] labels) {

        /** Tokens per sentence, {@code [CLS]} and {@code [SEP]} included. */
        public static final int LENGTH = 8;

        static final List<String> NOUNS = List.of("food", "movie", "service", "weather", "book", "game",
                "hotel", "music", "room", "show", "car", "team", "coffee", "price", "staff", "view",
                "song", "story", "class", "trip");
        static final List<String> AFFIRM = List.of("very", "really", "quite", "so", "truly", "always");
        static final List<String> NEGATE = List.of("not", "never", "hardly", "rarely");
        static final List<String> GOOD = List.of("good", "great", "nice", "excellent", "wonderful", "fine",
                "lovely", "pleasant", "perfect", "amazing");
        static final List<String> BAD = List.of("bad", "awful", "terrible", "poor", "horrible", "boring",
                "ugly", "weak", "dull", "sad");

        /**
         * Every sentence of the template, shuffled.
         *
         * @param seed shuffle seed
         * @return the task (4000 sentences, half of them positive)
         */
        public static Task generate(long seed) {
            List<String> s = new ArrayList<>();
            List<Integer> y = new ArrayList<>();
            for (String noun : NOUNS) {
                for (List<String> mods : List.of(AFFIRM, NEGATE)) {
                    for (String mod : mods) {
                        for (List<String> adjs : List.of(GOOD, BAD)) {
                            for (String adj : adjs) {
                                s.add("the " + noun + " was " + mod + " " + adj + " .");
                                y.add((mods == AFFIRM) == (adjs == GOOD) ? 1 : 0);
                            }
                        }
                    }
                }
            }
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < s.size(); i++) {
                order.add(i);
            }
            Collections.shuffle(order, new Random(seed));
            List<String> ss = new ArrayList<>();
            int[] yy = new int[s.size()];
            for (int i = 0; i < order.size(); i++) {
                ss.add(s.get(order.get(i)));
                yy[i] = y.get(order.get(i));
            }
            return new Task(List.copyOf(ss), yy);
        }

        /** @return the number of sentences */
        public int size() {
            return sentences.size();
        }

        /**
         * @param tokens the tokenizer
         * @return token ids, {@code size × LENGTH}
         * @throws IllegalStateException if a sentence is not {@link #LENGTH} tokens
         */
        public long[][] ids(Tokens tokens) {
            long[][] out = new long[sentences.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = tokens.ids(sentences.get(i));
                if (out[i].length != LENGTH) {
                    throw new IllegalStateException("'" + sentences.get(i) + "' is " + out[i].length
                            + " tokens, not " + LENGTH);
                }
            }
            return out;
        }
    }
}
