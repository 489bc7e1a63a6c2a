package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.TransformerEncoderBlock;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The activation side recorded and read in groups of layers ({@link ReadContext#activationGroupBytes},
 * what the live monitor does on a large model) gives the report one recording of every layer gives,
 * result for result (every count and structural part exactly, the measured values to round-off):
 * the link from a layer's input to the layer that produced it, which the DDS
 * read's structural split follows, holds from one group's recording to the next.
 */
class ActivationGroupsTest {

    private static final int SAMPLES = 12;
    private static final int POSITIONS = 5;
    private static final int FEATURES = 6;
    private static final int WIDTH = 8;
    private static final int CLASSES = 3;
    private static final Shape INPUT = new Shape(SAMPLES, POSITIONS, FEATURES);

    /** A sequence model: projection, LayerNorm, one DJL encoder block, a wide ReLU layer, LayerNorm, mean, head. */
    private static Block net() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(WIDTH).build())
                .add(LayerNorm.builder().axis(2).build())
                .add(new TransformerEncoderBlock(WIDTH, 2, 2 * WIDTH, 0.0f, Activation::relu))
                .add(Linear.builder().setUnits(4 * WIDTH).build()) // wider than its input: input rank
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(WIDTH).build())
                .add(LayerNorm.builder().axis(2).build())
                .add(new LambdaBlock(x -> new NDList(x.head().mean(new int[] {1})), "mean"))
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /**
     * Relative tolerance between a layer's read in the grouped recording and in one recording: a
     * group's passes may cover fewer samples at a time, whose arithmetic rounds differently in the
     * last bits (float64).
     */
    private static final double ROUND_OFF = 1e-9;
    /** Absolute tolerance for values that are round-off themselves (the Rayleigh quotient of an exact kernel). */
    private static final double ZERO = 1e-12;

    /** Every result as text, the measured values of the activation side rounded away. */
    private static List<String> counts(ReadReport r) {
        return r.results().stream().map(o -> o instanceof DdsResult d ? d.layer() + " " + d.side() + " rows " + d.rows()
                + " dim " + d.dimension() + " total " + d.total() + " dead " + d.deadCount() + " unresolved "
                + d.unresolved() + " structure " + d.structure()
                : o instanceof LayerNormResult n ? n.layer() + " width " + n.width() + " γ " + n.gammaMinAbs() + " "
                        + n.gammaRatio() + " dead " + n.deadCoordinates() + " extra " + n.extraDead() + " kernel "
                        + n.kernel()
                : o.toString().replaceAll("\\[D@\\w+", "")).toList(); // the order read's arrays print by identity
    }

    private static void assertSameReads(ReadReport grouped, ReadReport whole) {
        assertThat(counts(grouped)).isEqualTo(counts(whole));
        List<DdsResult> g = grouped.dds();
        List<DdsResult> w = whole.dds();
        for (int i = 0; i < w.size(); i++) {
            String at = w.get(i).layer() + " " + w.get(i).side();
            assertThat(g.get(i).logDetActive()).as(at).isCloseTo(w.get(i).logDetActive(), withinPercentage(100 * ROUND_OFF));
            assertThat(g.get(i).lambdaMin()).as(at).isCloseTo(w.get(i).lambdaMin(), withinPercentage(100 * ROUND_OFF));
            for (int k = 0; k < w.get(i).profile().length; k++) {
                assertThat(g.get(i).profile()[k]).as(at).isCloseTo(w.get(i).profile()[k], withinPercentage(100 * ROUND_OFF));
            }
        }
        for (int i = 0; i < whole.layerNorms().size(); i++) {
            LayerNormResult a = grouped.layerNorms().get(i);
            LayerNormResult b = whole.layerNorms().get(i);
            assertThat(a.rayleigh()).as(b.layer()).isCloseTo(b.rayleigh(), within(ZERO));
            assertThat(a.alignment()).as(b.layer()).isCloseTo(b.alignment(), within(ROUND_OFF));
        }
    }

    private static int liveArrays() {
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    private interface Body {
        void run(ModelProbe probe) throws Exception;
    }

    private static void onReplica(Body body) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(11);
            Block model = net();
            model.initialize(m, DataType.FLOAT32, INPUT);
            NDList labels = new NDList(m.randomInteger(0, CLASSES, new Shape(SAMPLES), DataType.INT32)
                    .toType(DataType.FLOAT32, false));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(INPUT)), labels);
                    Replica replica = Replica.float64(ActivationGroupsTest::net, model, m, INPUT);
                    ModelProbe mp = new ModelProbe(replica.block(), probe, Precision.FLOAT64, OutputMetric.SOFTMAX)) {
                body.run(mp);
            }
        }
    }

    private static ReadSuite suite() {
        return new ReadSuite(ReadSuite.defaults(Activations.DEFAULT_MAX_ROWS, Detector.defaults(), 3, true),
                ReadSuite.ReadObserver.NONE);
    }

    @Test
    void everyLayerItsOwnGroupGivesTheReportOfOneRecordingAndLeavesNoArray() throws Exception {
        onReplica(mp -> {
            Loss loss = Loss.softmaxCrossEntropyLoss();
            ReadReport whole = suite().read(mp, 1, loss);
            int before = liveArrays();
            ReadReport grouped = suite().withActivationGroups(1).read(mp, 1, loss);
            assertThat(liveArrays()).as("arrays left by the grouped read").isEqualTo(before);
            assertThat(grouped.failures()).isEmpty();
            assertSameReads(grouped, whole);
            assertThat(grouped.layerNorms()).hasSize(2);
            // the structural split follows producers across groups: some layer inherits or is
            // bounded by what its input lacks, and that part would be missing without the link
            assertThat(whole.dds()).anySatisfy(d -> assertThat(d.structure().inputRank() + d.structure().inherited())
                    .isPositive());
        });
    }

    @Test
    void theLimitSplitsTheLayersIntoConsecutiveGroupsAndNoLimitKeepsOne() throws Exception {
        onReplica(mp -> {
            List<String> layers = ReadSuite.tappedLayers(mp.paths());
            try (ReadContext one = new ReadContext(mp, 0, null, layers, read -> true, nanos -> true);
                    ReadContext each = new ReadContext(mp, 0, null, layers, read -> true, nanos -> true)
                            .activationGroupBytes(1);
                    ReadContext some = new ReadContext(mp, 0, null, layers, read -> true, nanos -> true)
                            .activationGroupBytes(SAMPLES * POSITIONS * 4L * WIDTH * Double.BYTES)) {
                assertThat(one.activationPlan().groups()).containsExactly(layers);
                assertThat(each.activationPlan().groups()).hasSize(layers.size());
                List<List<String>> groups = some.activationPlan().groups();
                assertThat(groups.size()).isBetween(2, layers.size() - 1);
                assertThat(groups.stream().flatMap(List::stream).toList()).as("in order, each once").isEqualTo(layers);
                // the planned layers' producers are the whole recording's
                for (String layer : layers) {
                    assertThat(each.activationPlan().producer(layer)).as(layer)
                            .isEqualTo(one.activationPlan().producer(layer));
                }
                assertThat(layers.stream().filter(l -> one.activationPlan().producer(l) != null)).hasSizeGreaterThan(3);
            }
        });
    }

    @Test
    void aLimitBelowOneByteIsRefusedNamingIt() throws Exception {
        onReplica(mp -> {
            try (ReadContext ctx = new ReadContext(mp, 0, null, List.of(), read -> true, nanos -> true)) {
                assertThatThrownBy(() -> ctx.activationGroupBytes(0)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("got 0");
            }
            assertThatThrownBy(() -> suite().withActivationGroups(-5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("got -5");
        });
    }
}
