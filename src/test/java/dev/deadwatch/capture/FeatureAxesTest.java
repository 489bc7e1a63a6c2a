package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import dev.deadwatch.reads.Activations;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FeatureAxesTest {

    @Test
    void channelsFollowTheConvolutionThroughNormActivationAndPoolingUntilADenseLayer() {
        SequentialBlock b = new SequentialBlock().add(Conv2d.builder().setFilters(8).setKernelShape(new Shape(3, 3)).build())
                .add(BatchNorm.builder().build()).add(Activation.reluBlock()).add(Pool.maxPool2dBlock(new Shape(2, 2)))
                .add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(4).build()).add(Activation.reluBlock());
        try (NDManager m = NDManager.newBaseManager()) {
            b.initialize(m, DataType.FLOAT32, new Shape(2, 3, 8, 8));
            BlockPaths paths = BlockPaths.of(b);
            List<String> layers = List.of("01Conv2d", "02BatchNorm", "03LambdaBlock", "04LambdaBlock", "05LambdaBlock",
                    "06Linear", "07LambdaBlock");
            Map<String, Integer> axes = FeatureAxes.of(paths, layers, Map.of());
            assertThat(axes).containsExactly(Map.entry("01Conv2d", 1), Map.entry("02BatchNorm", 1),
                    Map.entry("03LambdaBlock", 1), Map.entry("04LambdaBlock", 1), Map.entry("05LambdaBlock", 1),
                    Map.entry("06Linear", -1), Map.entry("07LambdaBlock", -1));
            assertThat(FeatureAxes.of(paths, layers, Map.of("03LambdaBlock", -1))).containsEntry("03LambdaBlock", -1);
        }
    }

    @Test
    void axesResolveAgainstTheRankAndRejectTheBatchAxis() {
        assertThat(FeatureAxes.resolve(FeatureAxes.CHANNELS, 4)).isEqualTo(1);
        assertThat(FeatureAxes.resolve(FeatureAxes.LAST, 4)).isEqualTo(3);
        assertThat(FeatureAxes.resolve(FeatureAxes.CHANNELS, 2)).as("rank 2 has one feature axis").isEqualTo(1);
        assertThat(FeatureAxes.resolve(-2, 3)).isEqualTo(1);
        assertThatThrownBy(() -> FeatureAxes.resolve(-4, 4)).hasMessageContaining("feature axis -4");
        assertThatThrownBy(() -> FeatureAxes.resolve(5, 4)).hasMessageContaining("feature axis 5");
    }

    @Test
    void aChannelAxisMatrixHasARowPerSampleAndPositionAndAColumnPerChannel() {
        try (NDManager m = NDManager.newBaseManager()) {
            // channel c of every sample and position holds c + 10·(sample) : columns are channels
            NDArray x = m.arange(0f, 3f).reshape(1, 3, 1, 1).add(m.arange(0f, 2f).mul(10).reshape(2, 1, 1, 1))
                    .broadcast(new Shape(2, 3, 4, 5));
            NDArray a = Activations.centred(List.of(x), FeatureAxes.CHANNELS, 4096, m);
            assertThat(a.getShape()).isEqualTo(new Shape(2 * 4 * 5, 3));
            // centred: every column is ±5 (the sample term), the channel offset is gone
            double[] v = ParameterState.toDoubles(a);
            for (double e : v) {
                assertThat(Math.abs(e)).isEqualTo(5.0);
            }
        }
    }
}
