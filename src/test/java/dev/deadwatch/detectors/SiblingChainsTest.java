package dev.deadwatch.detectors;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Detectors pair a block with the sibling before it only where that sibling's output is what it
 * reads. Before, every block's children counted as one chain: an attention's key projection was
 * taken as fed by its query projection (all three read the same input), and a Linear after a
 * residual sum as fed by the Linear before the sum.
 */
class SiblingChainsTest {

    private static final int WIDTH = 6;

    /** Two projections of one input, summed: side by side, neither feeds the other. */
    static final class SideBySide extends AbstractBlock {
        private final Linear a = addChildBlock("a", Linear.builder().setUnits(WIDTH).build());
        private final Linear b = addChildBlock("b", Linear.builder().setUnits(WIDTH).build());

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray x = in.head();
            return new NDList(a.forward(ps, in, training).head().add(b.forward(ps, new NDList(x), training).head()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), WIDTH)};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... inputShapes) {
            a.initialize(m, t, inputShapes);
            b.initialize(m, t, inputShapes);
        }
    }

    /** {@code second(first(x) + x)}: a residual sum between the two, which is no block of its own. */
    static final class ResidualBetween extends AbstractBlock {
        private final Linear first = addChildBlock("first", Linear.builder().setUnits(WIDTH).build());
        private final Linear second = addChildBlock("second", Linear.builder().setUnits(WIDTH).build());

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray x = in.head();
            NDArray h = first.forward(ps, in, training).head().add(x);
            return second.forward(ps, new NDList(h), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), WIDTH)};
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... inputShapes) {
            first.initialize(m, t, inputShapes);
            second.initialize(m, t, new Shape(inputShapes[0].get(0), WIDTH));
        }
    }

    @Test
    void onlyABlockThatReadsItsSiblingsOutputIsChainedToIt() {
        SequentialBlock model = new SequentialBlock()
                .add(new SideBySide())
                .add(new ResidualBetween())
                .add(Linear.builder().setUnits(8).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(3).build());
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(1);
            model.initialize(m, DataType.FLOAT32, new Shape(5, WIDTH));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(new Shape(5, WIDTH))), new NDList());
                    ModelProbe mp = new ModelProbe(model, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                List<List<String>> runs = new DetectorContext(mp).siblingRuns();
                assertThat(runs).containsExactlyInAnyOrder(
                        // the model's own children: each returns what the next one reads
                        List.of("01SideBySide", "02ResidualBetween", "03Linear", "04LambdaBlock", "05Linear"),
                        List.of("01SideBySide/01a"), List.of("01SideBySide/02b"),
                        List.of("02ResidualBetween/01first"), List.of("02ResidualBetween/02second"));
                // so the rank-deficit detector finds no Linear → Linear pair in either custom block
                assertThat(new RankDeficitDetector(0.5).detect(new DetectorContext(mp)))
                        .allSatisfy(c -> assertThat(c.layer()).doesNotContain("SideBySide", "ResidualBetween"));
            }
        }
    }
}
