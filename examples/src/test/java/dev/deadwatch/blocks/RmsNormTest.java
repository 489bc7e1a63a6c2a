package dev.deadwatch.blocks;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.reads.LayerNormRead;
import dev.deadwatch.reads.LayerNormResult;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The LayerNorm read on an RMSNorm-type block (no mean subtraction): no inverse-scale kernel. */
class RmsNormTest {

    @Test
    void rmsNormHasNoKernel() {
        Random rnd = new Random(9);
        int d = 12;
        try (NDManager m = NDManager.newBaseManager()) {
            RmsNorm norm = new RmsNorm();
            norm.initialize(m, DataType.FLOAT64, new Shape(1, d));
            double[] gamma = new double[d];
            for (int i = 0; i < d; i++) {
                gamma[i] = 0.5 + rnd.nextDouble();
            }
            ParameterState.write(ParameterState.parameter(norm, "gamma").getArray(), gamma);
            NDArray in = m.randomNormal(0, 1, new Shape(400, d), DataType.FLOAT64);
            NDArray h = norm.forward(new ParameterStore(m, false), new NDList(in), false).head();
            LayerNormResult r = new LayerNormRead().read("rms", gamma, List.of(h), m);
            assertThat(r.rayleigh()).isGreaterThan(1e-2);
            assertThat(r.kernel()).isFalse();
            assertThat(r.normKind()).isEqualTo("no-kernel");
        }
    }

}
