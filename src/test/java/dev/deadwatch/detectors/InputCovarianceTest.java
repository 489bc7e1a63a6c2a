package dev.deadwatch.detectors;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.reads.Activations;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The detectors' input covariances: asking for every Linear layer runs the model's forward pass
 * once (it ran once per layer, which on a MiniLM-size encoder was most of the order read's
 * detection), and each covariance is the one a pass recording that layer's input alone gives.
 */
class InputCovarianceTest {

    @Test
    void everyLinearInputFromOneForwardPassWithTheSameCovariance() {
        AtomicInteger passes = new AtomicInteger();
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(5);
            SequentialBlock net = new SequentialBlock()
                    .add(new LambdaBlock(x -> {
                        passes.incrementAndGet();
                        return x;
                    }))
                    .add(Linear.builder().setUnits(7).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock())
                    .add(Linear.builder().setUnits(3).build());
            net.initialize(m, DataType.FLOAT32, new Shape(20, 6));
            NDArray x = m.randomNormal(0, 1, new Shape(20, 6), DataType.FLOAT32);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                assertThat(linears).hasSize(3);
                DetectorContext ctx = new DetectorContext(mp);
                int before = passes.get();
                List<double[]> got = linears.stream().map(p -> ctx.inputCovariance(p).matrix()).toList();
                assertThat(passes.get() - before).as("forward passes for every Linear's input").isEqualTo(1);
                for (int i = 0; i < linears.size(); i++) {
                    try (ModelProbe.Capture cap = mp.capture(Set.of(), Set.of(linears.get(i)), Set.of(), false)) {
                        NDArray a = Activations.centred(cap.session().inputs().get(linears.get(i)),
                                Activations.DEFAULT_MAX_ROWS, cap.manager());
                        assertThat(got.get(i)).as(linears.get(i)).containsExactly(Activations.covariance(a, false).matrix());
                    }
                }
                assertThat(ctx.inputCovariance(linears.get(1))).as("cached").isSameAs(ctx.inputCovariance(linears.get(1)));
            }
        }
    }
}
