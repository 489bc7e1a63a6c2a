package dev.deadwatch.minilm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * On a small MiniLM-shaped classifier (float64, random weights and norm scales): the LayerNorm
 * gauge through a norm's consumer in the next layer, and through the mean over tokens into the
 * head, reads flat; the same path on a Linear the norm does not feed reads regular; the
 * predicting detectors find every norm's gauge and every attention's query–key orbit.
 */
class NormGaugeDetectorTest {

    private static final MiniLm.Config SMALL = new MiniLm.Config(50, 16, 2, 8, 2, 2, 16, 1e-12f);

    @Test
    void theGaugeThroughTheNextLayerIsFlatAndAWrongConsumerIsNot() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(5);
            MiniLmClassifier model = new MiniLmClassifier(new MiniLm(SMALL), 3);
            model.initialize(m, DataType.FLOAT64, new Shape(1, 6));
            Random rnd = new Random(11);
            for (var p : model.getParameters()) {
                if (p.getKey().endsWith("gamma") || p.getKey().endsWith("beta")) {
                    Parameter g = p.getValue();
                    double[] v = new double[(int) g.getArray().size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = p.getKey().endsWith("gamma") ? 0.5 + rnd.nextDouble() : rnd.nextGaussian();
                    }
                    ParameterState.write(g.getArray(), v);
                }
            }
            long[][] ids = new long[8][6];
            for (long[] row : ids) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = rnd.nextInt(SMALL.vocabulary());
                }
            }
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(FrozenRead.idArray(m, ids)), null);
                    ModelProbe mp = new ModelProbe(model, probe, Precision.FLOAT64, OutputMetric.SOFTMAX)) {
                List<Candidate> gauges = new NormGaugeDetector().detect(new DetectorContext(mp));
                // embeddings → layer0 query, layer0 output norm → layer1 query, layer1 output norm → head
                assertThat(gauges).hasSize(3);
                OrderRead read = new OrderRead(0);
                for (Candidate c : gauges) {
                    assertThat(read.read(mp, c).classification()).as(c.layer()).isEqualTo(Classification.GAUGE);
                }
                BertLayer first = model.encoder().layers().get(0);
                BertLayer second = model.encoder().layers().get(1);
                Candidate wrong = NormGaugeDetector.candidate("wrong", first.attentionNorm(),
                        second.attention().queryProjection());
                OrderResult r = read.read(mp, wrong);
                assertThat(r.classification()).isEqualTo(Classification.REGULAR);

                Map<String, List<Candidate>> found = FrozenRead.candidates(mp, FrozenRead.predicting());
                assertThat(found.get("layernorm-kernel")).hasSize(2); // attention norm → intermediate, per layer
                assertThat(found.get("layernorm-kernel-consumer")).hasSize(3);
                assertThat(found.get("qk-rotation")).hasSize(2);
                assertThat(FrozenRead.sample(found, 3)).extracting(Candidate::name)
                        .containsExactly("layernorm-kernel", "layernorm-kernel", "qk-rotation");
            }
        }
    }
}
