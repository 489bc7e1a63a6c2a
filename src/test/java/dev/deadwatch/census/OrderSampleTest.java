package dev.deadwatch.census;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.order.ParameterPath;
import dev.deadwatch.order.Prediction;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 3: the order read reads at most a few candidates per layer, the same ones for the
 * same seed, in the detectors' order, and says how many of how many.
 */
class OrderSampleTest {

    private static final int CAP = 3;
    private static final long STEP = 100;
    private static final ParameterPath NO_PATH = new ParameterPath() {
        @Override
        public List<ai.djl.nn.Parameter> parameters() {
            return List.of();
        }

        @Override
        public List<double[]> at(double t) {
            return List.of();
        }
    };

    /** 10 candidates in layer a, 2 in layer b, interleaved. */
    private static List<Candidate> candidates() {
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            out.add(new Candidate("a[" + i + "]", "a", NO_PATH, Prediction.none()));
            if (i < 2) {
                out.add(new Candidate("b[" + i + "]", "b", NO_PATH, Prediction.none()));
            }
        }
        return out;
    }

    private static List<String> names(List<Candidate> cs) {
        return cs.stream().map(Candidate::name).toList();
    }

    @Test
    void atMostTheCapPerLayerTheSameForTheSameSeedAndReported() {
        List<OrderSample> samples = new ArrayList<>();
        List<Candidate> read = new CensusRead(List.of(), 1, CAP).sample(candidates(), samples, STEP);
        assertThat(samples).containsExactly(new OrderSample("a", 10, CAP), new OrderSample("b", 2, 2));
        assertThat(read.stream().filter(c -> c.layer().equals("a"))).hasSize(CAP);
        assertThat(names(read)).as("a layer under the cap is read whole").contains("b[0]", "b[1]");
        List<String> order = new ArrayList<>(names(read));
        assertThat(order).as("kept in the detectors' order").isEqualTo(names(candidates()).stream()
                .filter(order::contains).toList());
        List<Candidate> again = new CensusRead(List.of(), 1, CAP).sample(candidates(), new ArrayList<>(), STEP);
        assertThat(names(again)).as("same seed, same sample").isEqualTo(names(read));
        boolean differs = false;
        for (long seed = 2; seed < 12 && !differs; seed++) {
            differs = !names(new CensusRead(List.of(), seed, CAP).sample(candidates(), new ArrayList<>(), STEP))
                    .equals(names(read));
        }
        assertThat(differs).as("another seed, another sample (one of 10 seeds)").isTrue();
    }

    @Test
    void noCapReadsEveryCandidate() {
        List<OrderSample> samples = new ArrayList<>();
        List<Candidate> read = new CensusRead(List.of(), 1, Integer.MAX_VALUE).sample(candidates(), samples, STEP);
        assertThat(names(read)).isEqualTo(names(candidates()));
        assertThat(samples).containsExactly(new OrderSample("a", 10, 10), new OrderSample("b", 2, 2));
        assertThatThrownBy(() -> new CensusRead(List.of(), 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    /** 12 layers of 3 candidates, at most 2 per layer and 6 in all: 3 whole layers, others at other steps. */
    @Test
    void theTotalCapTakesWholeLayersAndMovesWithTheStep() {
        List<Candidate> many = new ArrayList<>();
        for (int l = 0; l < 12; l++) {
            for (int i = 0; i < 3; i++) {
                many.add(new Candidate("c" + l + "." + i, "layer" + l, NO_PATH, Prediction.none()));
            }
        }
        CensusRead read = new CensusRead(List.of(), 1, 2, 6);
        java.util.Set<String> covered = new java.util.HashSet<>();
        for (long step = 0; step < 40; step++) {
            List<OrderSample> samples = new ArrayList<>();
            List<Candidate> chosen = read.sample(many, samples, step);
            assertThat(chosen).hasSize(6);
            assertThat(samples).hasSize(12).allSatisfy(s -> assertThat(s.found()).isEqualTo(3))
                    .allSatisfy(s -> assertThat(s.read()).isIn(0, 2));
            assertThat(samples.stream().filter(s -> s.read() > 0)).hasSize(3);
            assertThat(names(read.sample(many, new ArrayList<>(), step))).as("same step, same sample")
                    .isEqualTo(names(chosen));
            chosen.forEach(c -> covered.add(c.layer()));
        }
        assertThat(covered).as("layers read over 40 snapshots").hasSize(12);
    }
}
