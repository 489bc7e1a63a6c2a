package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.L2Loss;
import ai.djl.training.loss.Loss;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The L2 loss with an engine-owned weight: DJL's value, and a gradient a GC cannot corrupt. */
class SafeL2LossTest {

    @Test
    void takesDjlsWeightAndGivesDjlsValue() {
        assertThat(SafeL2Loss.of((L2Loss) Loss.l2Loss()).weight()).isEqualTo(0.5f);
        assertThat(SafeL2Loss.of(new L2Loss("w", 0.25f)).weight()).as("read from DJL's field, not the default")
                .isEqualTo(0.25f);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray pred = m.create(new double[] {1.5, -2, 0.25, 4}).reshape(2, 2);
            NDArray label = m.create(new double[] {1, 1, 1, 1}).reshape(2, 2);
            double djl = Loss.l2Loss().evaluate(new NDList(label), new NDList(pred)).getDouble();
            double safe = new SafeL2Loss().evaluate(new NDList(label), new NDList(pred)).getDouble();
            assertThat(safe).isEqualTo(djl).isEqualTo(0.5 * (0.25 + 9 + 0.5625 + 9) / 4);
        }
    }

    @Test
    void itsGradientIsExactAfterTheCollectorFreedEveryJavaBuffer() {
        // DJL's own L2Loss fails this in about 8 runs of 20 (its weight is read from freed memory)
        for (int run = 0; run < 5; run++) {
            gradientAfterChurn();
        }
    }

    private static void gradientAfterChurn() {
        try (NDManager m = NDManager.newBaseManager()) {
            double[] x = {1.5, -2, 0.25, 4};
            NDArray pred = m.create(x);
            pred.setRequiresGradient(true);
            NDArray label = m.zeros(pred.getShape(), DataType.FLOAT64);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = new SafeL2Loss().evaluate(new NDList(label), new NDList(pred));
                churn();
                gc.backward(loss);
            }
            // d/dx mean(0.5 x²) = x / n
            double[] g = pred.getGradient().toDoubleArray();
            for (int i = 0; i < x.length; i++) {
                assertThat(g[i]).isEqualTo(x[i] / x.length);
            }
        }
    }

    /** Frees unreachable direct buffers and fills the memory they held with other values. */
    private static void churn() {
        for (int round = 0; round < 3; round++) {
            System.gc();
            List<ByteBuffer> fill = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
                b.putDouble(0, 1e300);
                fill.add(b);
            }
            fill.clear();
        }
    }
}
