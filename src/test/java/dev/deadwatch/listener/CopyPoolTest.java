package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parameters' copies of one snapshot are refilled in place for the next, never aliased. */
class CopyPoolTest {

    private static Block mlp(int width) {
        return new SequentialBlock().add(Linear.builder().setUnits(width).build()).add(Activation.reluBlock())
                .add(Linear.builder().setUnits(3).build());
    }

    private static float[][] values(List<NDArray> arrays) {
        float[][] out = new float[arrays.size()][];
        for (int i = 0; i < arrays.size(); i++) {
            out[i] = arrays.get(i).toFloatArray();
        }
        return out;
    }

    private static float[][] parameters(Block b) {
        return values(b.getParameters().values().stream().map(Parameter::getArray).toList());
    }

    @Test
    void aSpareSetIsRefilledInPlaceWithTheParametersAtTheNextSnapshot() {
        try (NDManager m = NDManager.newBaseManager(); CopyPool pool = new CopyPool(m)) {
            Block b = mlp(5);
            b.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            StagedParameters first = pool.copy(b);
            float[][] atFirst = parameters(b);
            assertThat(values(first.arrays())).isDeepEqualTo(atFirst);

            // training moves on: every parameter changes in place
            dev.deadwatch.capture.GradMode.off(() -> {
                for (Pair<String, Parameter> p : b.getParameters()) {
                    p.getValue().getArray().addi(1.5f);
                }
                return null;
            });
            assertThat(values(first.arrays())).as("a copy, not a view of the parameters").isDeepEqualTo(atFirst);

            List<NDArray> arrays = first.arrays();
            pool.giveBack(first);
            StagedParameters second = pool.copy(b);
            assertThat(pool.reused()).isEqualTo(1);
            for (int i = 0; i < arrays.size(); i++) {
                assertThat(second.arrays().get(i)).isSameAs(arrays.get(i));
            }
            assertThat(values(second.arrays())).isDeepEqualTo(parameters(b));
            assertThat(values(second.arrays())[0][0]).isEqualTo(atFirst[0][0] + 1.5f);
            assertThat(second.arrays().get(0).hasGradient()).as("no autograd on a copy").isFalse();

            // a third snapshot while the second is still read gets new arrays
            StagedParameters third = pool.copy(b);
            assertThat(third.arrays().get(0)).isNotSameAs(second.arrays().get(0));
            assertThat(pool.reused()).isEqualTo(1);
            pool.giveBack(second);
            pool.giveBack(third);
        }
    }

    @Test
    void copiesThatNoLongerFitAreFreedAndMadeAnewAndAClosedPoolFreesWhatComesBack() {
        try (NDManager m = NDManager.newBaseManager()) {
            CopyPool pool = new CopyPool(m);
            Block narrow = mlp(5);
            narrow.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            Block wide = mlp(7);
            wide.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            StagedParameters old = pool.copy(narrow);
            NDArray oldWeight = old.arrays().get(0);
            pool.giveBack(old);
            StagedParameters fresh = pool.copy(wide);
            assertThat(pool.reused()).isZero();
            assertThat(oldWeight.isReleased()).as("the spare that did not fit is freed").isTrue();
            assertThat(fresh.arrays().get(0).getShape()).isEqualTo(new Shape(7, 4));
            assertThat(values(fresh.arrays())).isDeepEqualTo(parameters(wide));

            StagedParameters kept = pool.copy(wide);
            pool.giveBack(kept);
            pool.close();
            assertThat(kept.arrays().get(0).isReleased()).as("closing frees the spares").isTrue();
            pool.giveBack(fresh);
            assertThat(fresh.arrays().get(0).isReleased()).as("given back after close: freed").isTrue();
        }
    }
    @Test
    void onTheReplicaPathCopiesAreFreedOnceLoadedAndAZeroSetOfTheirLayoutIsMadeForTheNextSnapshot() {
        try (NDManager m = NDManager.newBaseManager(); CopyPool pool = new CopyPool(m)) {
            Block b = mlp(5);
            b.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            assertThat(pool.prefill()).as("no layout known before the first copy").isFalse();
            StagedParameters first = pool.copy(b);
            NDArray weight = first.arrays().get(0);
            pool.free(first);
            assertThat(weight.isReleased()).as("freed, not kept").isTrue();
            assertThat(pool.spares()).isZero();

            assertThat(pool.prefill()).isTrue();
            assertThat(pool.prefill()).as("one spare set at most").isFalse();
            assertThat(pool.spares()).isEqualTo(1);

            StagedParameters next = pool.copy(b);
            assertThat(pool.reused()).as("the prefilled set is refilled in place").isEqualTo(1);
            assertThat(values(next.arrays())).isDeepEqualTo(parameters(b));
            assertThat(next.arrays().get(0).getShape()).isEqualTo(new Shape(5, 4));
            assertThat(next.arrays().get(0).getDataType()).isEqualTo(DataType.FLOAT32);
            pool.free(next);
            pool.close();
            assertThat(pool.prefill()).as("a closed pool makes nothing, though it knows the layout").isFalse();
        }
    }
    /** A block holding the given arrays as its parameters, as they are (views included). */
    private static final class Holding extends ai.djl.nn.AbstractBlock {
        Holding(NDArray... arrays) {
            for (int i = 0; i < arrays.length; i++) {
                addParameter(Parameter.builder().setName("p" + i).setType(Parameter.Type.WEIGHT).build())
                        .setArray(arrays[i]);
            }
        }

        @Override
        protected ai.djl.ndarray.NDList forwardInternal(ai.djl.training.ParameterStore store,
                ai.djl.ndarray.NDList inputs, boolean training, ai.djl.util.PairList<String, Object> params) {
            return inputs;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /**
     * On PyTorch every parameter is copied by a memory copy into the copy's own memory: a transposed
     * view (not contiguous: its elements in logical order), a scalar and a float16 array all arrive
     * exact, at the first snapshot and refilled at the next, and the contiguous copy PyTorch makes of
     * the view is freed, not left in the parameter's manager.
     */
    @Test
    void aViewAScalarAndAFloat16ParameterAreCopiedExactlyByMemoryCopyLeavingNothingBehind() {
        try (NDManager m = NDManager.newBaseManager(); NDManager owner = NDManager.newBaseManager();
                CopyPool pool = new CopyPool(m)) {
            NDArray base = owner.arange(6f).reshape(2, 3);
            NDArray transposed = base.transpose(); // 3 x 2, strides of the 2 x 3
            NDArray scalar = owner.create(7.25f);
            NDArray half = owner.create(new float[] {1.5f, -2f, 60000f}).toType(DataType.FLOAT16, false);
            Block b = new Holding(transposed, scalar, half);
            int before = owner.getManagedArrays().size();

            StagedParameters first = pool.copy(b);
            assertThat(first.targets()).as("every copy written by memory copy").doesNotContainNull();
            assertThat(first.arrays().get(0).toFloatArray()).containsExactly(0f, 3f, 1f, 4f, 2f, 5f);
            assertThat(first.arrays().get(0).getShape()).isEqualTo(new Shape(3, 2));
            assertThat(first.arrays().get(1).toFloatArray()).containsExactly(7.25f);
            assertThat(first.arrays().get(1).getShape().dimension()).isZero();
            assertThat(first.arrays().get(2).getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(first.arrays().get(2).toType(DataType.FLOAT32, false).toFloatArray())
                    .containsExactly(1.5f, -2f, 60000f);

            base.addi(10f); // training moves on: the view follows its base
            scalar.addi(1f);
            pool.giveBack(first);
            StagedParameters second = pool.copy(b);
            assertThat(pool.reused()).isEqualTo(1);
            assertThat(second.arrays().get(0).toFloatArray()).containsExactly(10f, 13f, 11f, 14f, 12f, 15f);
            assertThat(second.arrays().get(1).toFloatArray()).containsExactly(8.25f);
            assertThat(owner.getManagedArrays()).as("nothing left in the parameters' manager").hasSize(before);
            pool.giveBack(second);
        }
    }
    /**
     * On copies, once the first set exists, a snapshot has room only while a spare set is kept:
     * the worker makes one before its read, or a read gives its set back; without one the
     * listener drops the snapshot as busy rather than make a fresh set on the training thread.
     */
    @Test
    void onCopiesASnapshotHasRoomOnlyWhileASpareSetIsKept() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block b = mlp(5);
            b.initialize(m, DataType.FLOAT32, new Shape(2, 4));
            ai.djl.ndarray.NDList probe = new ai.djl.ndarray.NDList(m.randomNormal(new Shape(2, 4)));
            try (SnapshotTaker taker = new SnapshotTaker(DeadwatchListener.builder()
                    .optProbe(probe, new ai.djl.ndarray.NDList(m.create(new float[] {0, 1}))).settings(), b,
                    ai.djl.training.loss.Loss.softmaxCrossEntropyLoss())) {
                assertThat(taker.observe(null, true)).as("the given probe").isTrue();
                assertThat(taker.roomForCopies()).as("before the path is known").isTrue();
                assertThat(taker.readsOnCopies()).isTrue();
                assertThat(taker.roomForCopies()).as("before the first set: it is made").isTrue();
                StagedParameters first = taker.copyParameters();
                assertThat(taker.roomForCopies()).as("the only set is read").isFalse();
                taker.beforeRead(); // the worker, before reading the first
                assertThat(taker.roomForCopies()).isTrue();
                StagedParameters second = taker.copyParameters();
                assertThat(second.arrays().get(0)).isNotSameAs(first.arrays().get(0));
                assertThat(taker.roomForCopies()).as("one set read, one waiting").isFalse();
                taker.onCopies(first); // the worker reads the first
                taker.release(first); // and gives its set back
                assertThat(taker.roomForCopies()).isTrue();
                taker.discard(second);
            }
        }
    }
}
