package dev.deadwatch.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.Activations;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.ReadContext;
import dev.deadwatch.reads.SplitRead;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 4: a snapshot's reads split into the part that needs the model (captured on the
 * training thread) and the rest (run later, elsewhere) give the report the reads give in one go,
 * the rest never reaches the model, and the captured arrays are all freed.
 */
class SplitReadTest {

    private static final int SAMPLES = 48;
    private static final int FEATURES = 6;
    private static final int CLASSES = 3;
    /** Order-read seed (the order read runs whole at capture; its results must agree too). */
    private static final long SEED = 3;
    /** Snapshots read in the live-array check. */
    private static final int REPEATS = 20;

    private static Block net() {
        return new SequentialBlock()
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(8).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(8).build())
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    private static ReadSuite suite() {
        return new ReadSuite(ReadSuite.defaults(Activations.DEFAULT_MAX_ROWS, Detector.defaults(), SEED, true),
                ReadSuite.ReadObserver.NONE);
    }

    /** Every result as text: records print arrays by identity, so a DDS result's profile is spelled out. */
    private static List<String> text(ReadReport r) {
        List<String> out = new ArrayList<>();
        for (Object o : r.results()) {
            out.add(o instanceof DdsResult d ? d.layer() + " " + d.side() + " rows " + d.rows() + " dim " + d.dimension()
                    + " logdet " + d.logDetActive() + " λmin " + d.lambdaMin() + " total " + d.total() + " dead "
                    + d.deadCount() + " unresolved " + d.unresolved() + " erank " + d.effectiveRank() + " structure " + d.structure() + " profile " + Arrays.toString(d.profile())
                    : o instanceof OrderResult or ? or.toString().replaceAll("\\[D@\\w+", "") + Arrays.toString(or.t())
                            + Arrays.toString(or.fisher()) + Arrays.toString(or.floor())
                    : o.toString());
        }
        return out;
    }

    private interface Body {
        void run(ModelProbe probe, Block model, NDManager m) throws Exception;
    }

    private static void withModel(Body body) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(7);
            Block model = net();
            model.initialize(m, DataType.FLOAT32, new Shape(SAMPLES, FEATURES));
            NDList in = new NDList(m.randomNormal(new Shape(SAMPLES, FEATURES)));
            NDList labels = new NDList(m.randomInteger(0, CLASSES, new Shape(SAMPLES), DataType.INT32)
                    .toType(DataType.FLOAT32, false));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, in, labels);
                    ModelProbe mp = new ModelProbe(model, probe, Precision.FLOAT32, OutputMetric.SOFTMAX)) {
                body.run(mp, model, m);
            }
        }
    }

    @Test
    void theSplitReadsGiveTheReportOfTheReadsInOneGoEvenWhenTheModelMovesOnBeforeTheRest() throws Exception {
        withModel((mp, model, m) -> {
            Loss loss = Loss.softmaxCrossEntropyLoss();
            ReadReport whole = suite().read(mp, 1, loss);
            String before = ParameterState.checksum(model);
            try (PendingReads pending = suite().capture(mp, 1, loss, read -> true, nanos -> true)) {
                assertThat(pending.hasRest()).isTrue();
                // training goes on: every parameter moves before the rest runs
                List<double[]> saved = new ArrayList<>();
                for (Pair<String, Parameter> p : model.getParameters()) {
                    double[] v = ParameterState.values(p.getValue());
                    saved.add(v);
                    double[] moved = v.clone();
                    for (int i = 0; i < moved.length; i++) {
                        moved[i] = moved[i] * 0.5 + 0.25;
                    }
                    ParameterState.write(p.getValue().getArray(), moved);
                }
                ReadReport split = pending.finish();
                assertThat(text(split)).as("results, in order").isEqualTo(text(whole));
                assertThat(split.dds()).as("DDS results").isNotEmpty();
                assertThat(split.layerNorms()).as("LayerNorm results").hasSize(2);
                assertThat(split.seconds().keySet()).isEqualTo(whole.seconds().keySet());
                assertThat(split.abandoned()).isEqualTo(whole.abandoned());
                for (int i = 0; i < saved.size(); i++) {
                    ParameterState.write(model.getParameters().get(i).getValue().getArray(), saved.get(i));
                }
            }
            assertThat(ParameterState.checksum(model)).as("captures leave the model as they found it").isEqualTo(before);
        });
    }

    @Test
    void theRestOfASplitReadRunsWithoutTheModel() throws Exception {
        withModel((mp, model, m) -> {
            AtomicReference<Throwable> reached = new AtomicReference<>();
            SplitRead probing = new SplitRead() {
                @Override
                public String name() {
                    return "probing";
                }

                @Override
                public Rest capture(ReadContext ctx) {
                    ctx.probe(); // the capture has the model
                    return c -> {
                        assertThat(c.detached()).isTrue();
                        try {
                            c.probe();
                        } catch (IllegalStateException e) {
                            reached.set(e);
                        }
                    };
                }
            };
            ReadSuite s = new ReadSuite(List.of(probing), ReadSuite.ReadObserver.NONE);
            try (PendingReads pending = s.capture(mp, 1, null, read -> true, nanos -> true)) {
                pending.finish();
                assertThatThrownBy(pending::finish).isInstanceOf(IllegalStateException.class);
            }
            assertThat(reached.get()).as("the model, asked for by the rest").isInstanceOf(IllegalStateException.class);
        });
    }

    @Test
    void capturedArraysAreFreedWhetherTheRestRunsOrNot() throws Exception {
        withModel((mp, model, m) -> {
            Loss loss = Loss.softmaxCrossEntropyLoss();
            suite().capture(mp, 1, loss, read -> true, nanos -> true).finish(); // warm-up: the engine's lazy arrays
            int baseline = liveArrays();
            for (int i = 0; i < REPEATS; i++) {
                try (PendingReads pending = suite().capture(mp, i, loss, read -> true, nanos -> true)) {
                    if (i % 2 == 0) {
                        pending.finish();
                    } // else dropped unfinished: closing frees what was captured
                }
            }
            assertThat(liveArrays()).as("native arrays after %d split reads", REPEATS).isEqualTo(baseline);
        });
    }

    private static int liveArrays() {
        // the engine's system manager is the root of every manager: count everything alive
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    /**
     * A capture knows whether its rest runs right after it (the worker's one go: it may finish work
     * early to free memory) or later on the detached context (the training thread's capture: it
     * keeps what the rest needs and does no more).
     */
    @Test
    void aCaptureIsToldWhetherItsRestIsDeferred() throws Exception {
        withModel((mp, model, m) -> {
            List<Boolean> seen = new ArrayList<>();
            SplitRead probe = new SplitRead() {
                @Override
                public String name() {
                    return "deferral";
                }

                @Override
                public Rest capture(ReadContext ctx) {
                    seen.add(ctx.restsDeferred());
                    return c -> { };
                }
            };
            ReadSuite suite = new ReadSuite(List.of(probe), ReadSuite.ReadObserver.NONE);
            suite.read(mp, 0, Loss.softmaxCrossEntropyLoss());
            try (PendingReads pending = suite.capture(mp, 1, Loss.softmaxCrossEntropyLoss(), r -> true, n -> true)) {
                pending.finish();
            }
            assertThat(seen).containsExactly(false, true);
        });
    }
}
