package dev.deadwatch.order;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.detectors.DetectorContext;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Candidates of one snapshot on the same tensors at the same base point share the order read's
 * measured floor and live reference: the results are identical to reading each alone, and each
 * candidate after the first saves exactly the reference's forward passes.
 */
class OrderBatchTest {

    /** 3 inputs → 8 → 3: the second Linear's input has rank 3, so 5 bottom directions share its tensors. */
    private static final Supplier<Block> NET = () -> new SequentialBlock()
            .add(Linear.builder().setUnits(8).build())
            .add(Linear.builder().setUnits(3).build());

    @Test
    void aBatchGivesEveryCandidateTheResultOfReadingItAloneWithFewerPasses() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(11);
            Block model = NET.get();
            Shape in = new Shape(32, 3);
            model.initialize(m, DataType.FLOAT32, in);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(in)), new NDList());
                    Replica replica = Replica.float64(NET, model, m, in);
                    ModelProbe mp = new ModelProbe(replica.block(), probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<Candidate> candidates = new BottomSubspaceDetector().detect(new DetectorContext(mp));
                assertThat(candidates).as("bottom directions of the rank-3 input").hasSizeGreaterThanOrEqualTo(4);
                assertThat(candidates).extracting(c -> c.path().parameters())
                        .as("all on the same tensors").containsOnly(candidates.get(0).path().parameters());
                String before = ParameterState.checksum(mp.block());

                List<OrderResult> alone = new ArrayList<>();
                long p0 = mp.evaluations();
                for (Candidate c : candidates) {
                    alone.add(new OrderRead(3).read(mp, c));
                }
                long alonePasses = mp.evaluations() - p0;

                OrderRead.Batch batch = new OrderRead(3).batch();
                List<OrderResult> batched = new ArrayList<>();
                long p1 = mp.evaluations();
                for (Candidate c : candidates) {
                    batched.add(batch.read(mp, c));
                }
                long batchPasses = mp.evaluations() - p1;

                for (int i = 0; i < candidates.size(); i++) {
                    assertThat(batched.get(i)).as("candidate %d", i).usingRecursiveComparison().isEqualTo(alone.get(i));
                }
                assertThat(alone).extracting(OrderResult::classification).doesNotContainNull();
                long shared = 2L * (1 + OrderRead.REFERENCE_DIRECTIONS); // floor pair + 8 reference pairs
                assertThat(batchPasses).isEqualTo(alonePasses - shared * (candidates.size() - 1));
                assertThat(ParameterState.checksum(mp.block())).as("restored bit-exactly").isEqualTo(before);
            }
        }
    }
}
