package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Fisher side on the model itself (no replica): the parameters carry gradients, and every
 * {@code getGradient()} registers a new wrapper in the parameter's manager, which lives as long
 * as the model. Repeated reads must leave the model's and the probe's managers as they were.
 */
class FisherGramMemoryTest {

    private static final int READS = 50;

    @Test
    void repeatedGramsOnAModelWithGradientsLeaveNoArrayInItsManagers() {
        int n = 8;
        try (NDManager m = NDManager.newBaseManager(); NDManager params = m.newSubManager()) {
            m.getEngine().setRandomSeed(3);
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(5).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(3).build());
            net.initialize(params, DataType.FLOAT32, new Shape(n, 4));
            NDArray x = m.randomNormal(0, 1, new Shape(n, 4), DataType.FLOAT32);
            NDArray y = m.randomInteger(0, 3, new Shape(n), DataType.INT32).toType(DataType.FLOAT32, false);
            Loss loss = Loss.softmaxCrossEntropyLoss();
            // one training step's backward: the parameters now hold gradients, as between steps
            try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = net.forward(new ParameterStore(step, false), new NDList(x), true).head();
                NDArray l = loss.evaluate(new NDList(y), new NDList(out));
                gc.backward(l);
                l.attach(step);
                out.attach(step);
            }
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT32, OutputMetric.SOFTMAX)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                FisherGramRead.grams(mp, linears, loss); // warm-up
                int inParams = params.getManagedArrays().size();
                int inProbe = m.getManagedArrays().size();
                for (int i = 0; i < READS; i++) {
                    assertThat(FisherGramRead.grams(mp, linears, loss)).hasSize(2);
                }
                assertThat(params.getManagedArrays().size()).as("arrays in the parameters' manager after %d reads", READS)
                        .isEqualTo(inParams);
                assertThat(m.getManagedArrays().size()).as("arrays under the caller's manager after %d reads", READS)
                        .isEqualTo(inProbe);
            }
        }
    }
}
