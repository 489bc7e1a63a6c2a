package dev.deadwatch.minilm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The generated inputs. */
class SentencesTest {

    @Test
    void everyTaskSentenceIsEightTokensAndNegationFlipsTheLabel() throws Exception {
        Sentences.Task task = Sentences.Task.generate(1);
        assertThat(task.size()).isEqualTo(4000);
        assertThat(Arrays.stream(task.labels()).sum()).isEqualTo(2000);
        try (Tokens tokens = Tokens.allMiniLmL6V2()) {
            long[][] ids = task.ids(tokens); // throws unless every sentence is LENGTH tokens
            assertThat(ids.length).isEqualTo(4000);
        }
        int notBad = task.sentences().indexOf("the food was not bad .");
        int reallyBad = task.sentences().indexOf("the food was really bad .");
        int neverGood = task.sentences().indexOf("the food was never good .");
        assertThat(task.labels()[notBad]).isEqualTo(1);
        assertThat(task.labels()[reallyBad]).isEqualTo(0);
        assertThat(task.labels()[neverGood]).isEqualTo(0);
        assertThat(Sentences.Task.generate(1).sentences()).isEqualTo(task.sentences());
    }

    @Test
    void wordSaladIsSeededWholeWords() throws Exception {
        long[][] a = Sentences.wordSalad(5, 14, 9);
        assertThat(a).hasDimensions(5, 16);
        assertThat(Sentences.wordSalad(5, 14, 9)).isDeepEqualTo(a);
        assertThat(Sentences.wordSalad(5, 14, 10)).isNotEqualTo(a);
        for (long[] row : a) {
            assertThat(row[0]).isEqualTo(Sentences.CLS);
            assertThat(row[15]).isEqualTo(Sentences.SEP);
            for (int j = 1; j < 15; j++) {
                assertThat(row[j]).isGreaterThan(999); // past [PAD], [unused…], [CLS], [SEP], [MASK] and punctuation
            }
        }
    }
}
