package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;


import ai.djl.basicmodelzoo.basic.Mlp;
import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.Side;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Networks this project did not build, from DJL's own model zoo ({@code ai.djl:model-zoo}),
 * trained with the listener on both paths: every leaf layer is read, no read fails, and deaths
 * are counted where they are — two channels killed in a convolution count as two dead in that
 * convolution, once.
 */
class ModelZooTest {

    private static final Shape IMAGE = new Shape(3, 16, 16);
    private static final int CLASSES = 4;
    /** The two channels killed in the first convolution. */
    private static final int[] KILLED = {3, 7};

    private static Block resNet() {
        return ResNetV1.builder().setImageShape(IMAGE).setNumLayers(8).setOutSize(CLASSES).build();
    }

    private static Block mlp() {
        return new Mlp(768, CLASSES, new int[] {64, 32});
    }

    @ParameterizedTest(name = "float64 replica: {0}")
    @ValueSource(booleans = {true, false})
    void resNetV1WithTwoKilledChannelsIsReadEverywhereAndCountsThemOnce(boolean replica) throws Exception {
        Run run = train(ModelZooTest::resNet, new Shape(64, 3, 16, 16), replica, true);
        DdsResult conv = run.last(run.firstConv);
        assertThat(conv.deadCount()).as("the killed channels in %s (%s)", run.firstConv, conv).isEqualTo(KILLED.length);
        assertThat(conv.unresolved()).isZero();
        // the first residual unit's 1x1 shortcut convolution sees 14 live input channels for 16
        // outputs: its two missing directions are structural there, not counted again
        String shortcut = "02ParallelBlock/02SequentialBlock/01Conv2d";
        DdsResult after = run.last(shortcut);
        assertThat(after.structure().inputRank()).as("%s (%s)", shortcut, after).isEqualTo(KILLED.length);
        assertThat(after.deadCount()).isZero();
    }

    @ParameterizedTest(name = "float64 replica: {0}")
    @ValueSource(booleans = {true, false})
    void mlpOfTheModelZooIsResolvedWithoutCallingItsWideInputDead(boolean replica) throws Exception {
        Run run = train(ModelZooTest::mlp, new Shape(64, 768), replica, false);
        for (String layer : run.leaves) {
            DdsResult r = run.last(layer);
            assertThat(r.unresolved()).as("%s is resolved by the probe (%s)", layer, r).isZero();
            assertThat(r.deadCount()).as("%s of a healthy network (%s)", layer, r).isLessThanOrEqualTo(2);
        }
    }

    /** A finished monitored run. */
    private record Run(List<String> leaves, String firstConv, List<ReadReport> reports, SimpleMeterRegistry registry) {
        DdsResult last(String layer) {
            return reports.get(reports.size() - 1).dds().stream()
                    .filter(r -> r.layer().equals(layer) && r.side() == Side.ACTIVATION).findFirst().orElseThrow();
        }
    }

    private static Run train(Supplier<Block> factory, Shape batch, boolean replica, boolean killChannels)
            throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<ReadReport> reports = new CopyOnWriteArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(4).optOrderEvery(3).optBudget(1.0)
                .optRegistry(reg).optOnReport(reports::add);
        if (replica) {
            b.optBlockFactory(factory);
        }
        try (DeadwatchListener monitor = b.build()) {
            String[] firstConv = new String[1];
            List<String> leaves = new java.util.ArrayList<>();
            // enough steps to collect the probe (2 × 768 samples for the Mlp) and read it twice
            Training.run(factory, batch, CLASSES, 2048, killChannels ? 12 : 28, killChannels ? 0f : 1e-2f, block -> {
                BlockPaths paths = BlockPaths.of(block);
                leaves.addAll(ReadSuite.tappedLayers(paths));
                if (killChannels) { // with learning rate 0 they stay killed, and every read sees the same model
                    firstConv[0] = paths.pathsOf(Conv2d.class).get(0);
                    Parameter w = ParameterState.parameter(paths.blockAt(firstConv[0]), "weight");
                    double[] v = ParameterState.values(w);
                    int perChannel = (int) (w.getArray().getShape().size() / w.getArray().getShape().get(0));
                    for (int c : KILLED) {
                        java.util.Arrays.fill(v, c * perChannel, (c + 1) * perChannel, 0);
                    }
                    ParameterState.write(w.getArray(), v);
                }
            }, monitor);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count())
                    .as("reads failed").isZero();
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "layer").counter().count())
                    .as("layers skipped").isZero();
            assertThat(reports).isNotEmpty();
            for (String leaf : leaves) {
                assertThat(reg.find("deadwatch.dead.directions").tag("layer", leaf).tag("side", "activation").gauge())
                        .as("series of leaf %s", leaf).isNotNull();
                if (leaf.contains("BatchNorm")) {
                    assertThat(reg.find("deadwatch.batchnorm.dead.channels").tag("layer", leaf).gauge())
                            .as("BatchNorm read of %s", leaf).isNotNull();
                }
            }
            assertThat(reports.get(reports.size() - 1).layerNorms()).as("no BatchNorm read as a LayerNorm").isEmpty();
            return new Run(leaves, firstConv[0], reports, reg);
        }
    }
}
