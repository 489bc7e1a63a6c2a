package dev.deadwatch.detectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.LazyPath;
import dev.deadwatch.order.ParameterPath;
import ai.djl.nn.Parameter;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The bottom-subspace detector's candidates carry whole-tensor paths (a Linear's weight and its
 * producer's): they are made only when the order read uses them, so the candidates its sample
 * leaves out cost nothing (on a MiniLM-size encoder 170 candidates of up to 4.7 MB each, of which
 * 8 are read). A made path is the straight path it always was.
 */
class LazyCandidatePathTest {

    @Test
    void bottomSubspaceCandidatesAreMadeWhenFirstUsed() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(2);
            SequentialBlock net = new SequentialBlock().add(Linear.builder().setUnits(5).build())
                    .add(Activation.reluBlock()).add(Linear.builder().setUnits(3).build());
            net.initialize(m, DataType.FLOAT64, new Shape(30, 4));
            NDArray x = m.randomNormal(0, 1, new Shape(30, 4), DataType.FLOAT64);
            x.set(new ai.djl.ndarray.index.NDIndex(":, 0"), 0); // a dead input direction
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<Candidate> found = new BottomSubspaceDetector().detect(new DetectorContext(mp));
                assertThat(found).isNotEmpty();
                assertThat(found).allSatisfy(c -> {
                    assertThat(c.path()).isInstanceOf(LazyPath.class);
                    assertThat(((LazyPath) c.path()).made()).as("made before use").isFalse();
                });
                LazyPath p = (LazyPath) found.get(0).path();
                double[] at = p.at(0.5).get(0);
                assertThat(p.made()).isTrue();
                assertThat(p.base().get(0)).hasSameSizeAs(at);
                assertThat(((LazyPath) found.get(found.size() - 1).path()).made()).as("others untouched")
                        .isEqualTo(found.size() == 1);
            }
        }
    }

    @Test
    void makesOnceAndChecksItsTensors() {
        AtomicInteger made = new AtomicInteger();
        ParameterPath line = new ParameterPath() {
            @Override
            public List<Parameter> parameters() {
                return List.of();
            }

            @Override
            public List<double[]> at(double t) {
                return List.of(new double[] {t});
            }
        };
        LazyPath p = new LazyPath(List.of(), () -> {
            made.incrementAndGet();
            return line;
        });
        assertThat(made.get()).isZero();
        assertThat(p.at(2).get(0)).containsExactly(2);
        assertThat(p.base().get(0)).containsExactly(0);
        assertThat(made.get()).isEqualTo(1);
        Parameter w = Parameter.builder().setName("w").setType(Parameter.Type.WEIGHT).build();
        assertThatThrownBy(() -> new LazyPath(List.of(w), () -> line).at(1)).hasMessageContaining("other tensors");
    }
}
