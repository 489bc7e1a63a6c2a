package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import dev.deadwatch.monitor.ReadReport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Blocks the reads do not know: each is that layer's problem, never the model's. */
class OddBlocksTest {

    /** Multiplies its input by one learned scalar named {@code gamma}: not a norm of any kind the reads know. */
    static final class ScalarGamma extends AbstractBlock {
        private final Parameter gamma;

        ScalarGamma() {
            gamma = addParameter(Parameter.builder().setName("gamma").setType(Parameter.Type.GAMMA)
                    .optInitializer(Initializer.ONES).optShape(new Shape(1)).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray g = ps.getValue(gamma, in.head().getDevice(), training);
            return new NDList(in.head().mul(g));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /** Computes in float32 whatever its parameters are: it cannot run in float64. */
    static final class Float32Only extends AbstractBlock {
        private final Parameter weight;

        Float32Only() {
            weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT)
                    .optShape(new Shape(8, 8)).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray w = ps.getValue(weight, in.head().getDevice(), training);
            return new NDList(in.head().toType(DataType.FLOAT32, false).matMul(w));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /** A root block that computes in float32 itself, after its Linear child: no block inside it to run in float32. */
    static final class Float32Root extends AbstractBlock {
        private final Parameter weight;
        private final Block inner;

        Float32Root() {
            inner = addChildBlock("inner", Linear.builder().setUnits(8).build());
            weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT)
                    .optShape(new Shape(8, 4)).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray h = inner.forward(ps, in, training).head();
            NDArray w = ps.getValue(weight, h.getDevice(), training);
            return new NDList(h.toType(DataType.FLOAT32, false).matMul(w));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), 4)};
        }

        @Override
        protected void initializeChildBlocks(ai.djl.ndarray.NDManager m, DataType t, Shape... shapes) {
            inner.initialize(m, t, shapes);
        }
    }

    private static Block withScalarGamma() {
        return new SequentialBlock().add(Linear.builder().setUnits(8).build()).add(new ScalarGamma())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(4).build());
    }

    private static Block withFloat32Only() {
        return new SequentialBlock().add(Linear.builder().setUnits(8).build()).add(new Float32Only())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(4).build());
    }

    private record Outcome(List<ReadReport> reports, double errors, double layers, String precision,
            Map<String, Double> layerBits) {}

    private static Outcome train(Supplier<Block> factory, boolean replica) {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<ReadReport> reports = new CopyOnWriteArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(4).optOrderEvery(2).optBudget(1.0)
                .optRegistry(reg).optOnReport(reports::add);
        if (replica) {
            b.optBlockFactory(factory);
        }
        try (DeadwatchListener monitor = b.build()) {
            Training.run(factory, new Shape(64, 6), 4, 256, 12, 1e-2f, x -> { }, monitor);
            return new Outcome(reports, reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count(),
                    reg.get("deadwatch.reads.skipped").tag("reason", "layer").counter().count(),
                    reg.get("deadwatch.info").gauge().getId().getTag("precision"),
                    reg.find("deadwatch.layer.precision").gauges().stream().collect(Collectors.toMap(
                            g -> g.getId().getTag("layer"), g -> g.value())));
        }
    }

    @Test
    void aGammaTheReadsDoNotKnowSkipsThatLayersNormReadOnlyAndEveryLayerIsStillRead() {
        for (boolean replica : new boolean[] {false, true}) {
            Outcome o = train(OddBlocksTest::withScalarGamma, replica);
            assertThat(o.errors()).as("replica %s", replica).isZero();
            // on the worker a snapshot may be dropped as busy; the last step is always read
            assertThat(o.reports()).isNotEmpty();
            assertThat(o.reports().get(o.reports().size() - 1).step()).isEqualTo(12);
            assertThat(o.layers()).as("one layer skipped per read").isEqualTo(o.reports().size());
            ReadReport last = o.reports().get(o.reports().size() - 1);
            assertThat(last.failures()).singleElement().satisfies(f -> {
                assertThat(f.layer()).isEqualTo("02ScalarGamma");
                assertThat(f.read()).isEqualTo("layernorm");
                assertThat(f.cause()).contains("not a LayerNorm-type norm");
            });
            assertThat(last.layerNorms()).isEmpty();
            assertThat(last.dds()).extracting(r -> r.layer()).contains("01Linear", "02ScalarGamma", "03LambdaBlock",
                    "04Linear");
        }
    }

    @Test
    void aBlockThatCannotRunInFloat64IsReadInFloat32InsideTheFloat64ReplicaAndSaysSoPerLayer() {
        Outcome o = train(OddBlocksTest::withFloat32Only, true);
        assertThat(o.errors()).isZero();
        assertThat(o.reports()).isNotEmpty();
        assertThat(o.reports().get(o.reports().size() - 1).dds()).as("4 layers, 2 Linear Fisher sides").hasSize(6);
        assertThat(o.precision()).isEqualTo("mixed");
        assertThat(o.layerBits()).containsExactlyInAnyOrderEntriesOf(Map.of("01Linear", 64.0, "02Float32Only", 32.0,
                "03LambdaBlock", 64.0, "04Linear", 64.0));
        Outcome healthy = train(OddBlocksTest::withScalarGamma, true);
        assertThat(healthy.precision()).isEqualTo("float64");
        assertThat(healthy.layerBits()).hasSize(4).allSatisfy((layer, bits) -> assertThat(bits).isEqualTo(64.0));
    }

    @Test
    void aRootThatCannotRunInFloat64IsReadOnAFloat32ReplicaAndSaysSo() {
        Outcome o = train(Float32Root::new, true);
        assertThat(o.errors()).isZero();
        assertThat(o.reports()).isNotEmpty();
        assertThat(o.precision()).isEqualTo("float32");
        assertThat(o.layerBits()).containsExactlyInAnyOrderEntriesOf(Map.of("01inner", 32.0));
        Outcome model = train(OddBlocksTest::withScalarGamma, false);
        assertThat(model.precision()).isEqualTo("float32");
        assertThat(model.layerBits()).hasSize(4).allSatisfy((layer, bits) -> assertThat(bits).isEqualTo(32.0));
    }
}
