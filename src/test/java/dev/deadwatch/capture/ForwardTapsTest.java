package dev.deadwatch.capture;

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
import java.util.Set;
import org.junit.jupiter.api.Test;

class ForwardTapsTest {

    /** A custom block (not a SequentialBlock) that calls its children itself. */
    static final class Residual extends AbstractBlock {
        private final Linear inner;

        Residual(int width) {
            inner = addChildBlock("inner", Linear.builder().setUnits(width).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training,
                PairList<String, Object> params) {
            NDArray x = in.head();
            return new NDList(x.add(Activation.relu(inner.forward(ps, in, training).head())));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }

        @Override
        protected void initializeChildBlocks(NDManager m, DataType t, Shape... shapes) {
            inner.initialize(m, t, shapes);
        }
    }

    @Test
    void capturesNestedCustomBlocksByStablePathOnlyInsideASession() {
        try (NDManager m = NDManager.newBaseManager()) {
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(6).build())
                    .add(new SequentialBlock().add(new Residual(6)).add(Linear.builder().setUnits(2).build()));
            net.initialize(m, DataType.FLOAT32, new Shape(5, 3));
            BlockPaths paths = BlockPaths.of(net);
            assertThat(paths.byPath().keySet()).contains("01Linear", "02SequentialBlock",
                    "02SequentialBlock/01Residual", "02SequentialBlock/01Residual/01inner",
                    "02SequentialBlock/02Linear");
            NDArray x = m.randomNormal(new Shape(5, 3));
            String inner = "02SequentialBlock/01Residual/01inner";
            try (TapSession s = TapSession.open(paths, Set.of(inner, "01Linear"), Set.of(inner), Set.of())) {
                net.forward(new ParameterStore(m, false), new NDList(x), false);
                assertThat(s.outputs().get(inner)).hasSize(1);
                assertThat(s.outputs().get(inner).get(0).getShape()).isEqualTo(new Shape(5, 6));
                assertThat(s.inputs().get(inner).get(0).getShape()).isEqualTo(new Shape(5, 6));
                assertThat(s.outputs().get("01Linear")).hasSize(1);
            }
            // after closing, nothing is recorded and outputs are untouched
            try (TapSession s = TapSession.open(paths, Set.of(inner), Set.of(), Set.of())) {
                s.close();
                net.forward(new ParameterStore(m, false), new NDList(x), false);
                assertThat(s.outputs()).isEmpty();
            }
        }
    }
}
