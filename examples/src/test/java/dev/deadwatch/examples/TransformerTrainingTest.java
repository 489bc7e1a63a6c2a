package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The transformers train finite, and the monitor does not change their training: the one-block
 * {@link TinyTransformer} and the {@link MiniEncoder} (DJL {@code IdEmbedding}, {@code Linear},
 * {@code LayerNorm}, GELU and this project's {@code SelfAttention}) are trained per seed without
 * the monitor, with it on the float32 path (reads on copies of the parameters, the default) and with it on the
 * float64 replica (reads on the worker), and each run's final weights must be finite and equal
 * bit for bit across the three.
 *
 * <p>The suite's runs force a garbage collection every {@link #COLLECT_EVERY}-th loss evaluation,
 * between a step's forward and backward pass. Before the fix (docs/findings.md) the backward pass
 * then read the attention's freed scale and the weights went non-finite in every run; in ordinary
 * runs that happened only where a collection fell there by chance (2 of 8 encoder runs). The
 * acceptance runs (10 seeds each: 20,000 steps of the one-block transformer, 200 of the
 * MiniLM-size encoder, no forced collections) are opt-in: {@code -Ddeadwatch.slow=true}; to split one
 * over processes, {@code -Ddeadwatch.seedFrom=5 -Ddeadwatch.seeds=5} runs seeds 5 to 9.
 */
class TransformerTrainingTest {

    /** Forced collections: one per this many loss evaluations. */
    private static final int COLLECT_EVERY = 7;

    /** The watched model. */
    private enum Kind { TINY, ENCODER, MINILM }

    /** How a run is watched. */
    private enum Arm { NONE, FLOAT32, REPLICA }

    /**
     * @param checksum SHA-256 of the final parameters
     * @param nonFinite parameters with a non-finite final value
     * @param reads the monitor's completed reads
     * @param orderReads of which with the order read
     */
    private record Run(String checksum, List<String> nonFinite, int reads, int orderReads) {}

    @Test
    void oneBlockTransformerTrainsFiniteAndTheMonitorLeavesItsWeightsBitIdentical() throws Exception {
        checkSeeds(Kind.TINY, 3, 150, 50, 2, true);
    }

    @Test
    void encoderTrainsFiniteAndTheMonitorLeavesItsWeightsBitIdentical() throws Exception {
        checkSeeds(Kind.ENCODER, 3, 60, 10, 2, true);
    }

    /** Acceptance, one-block transformer: 10 seeds × 20,000 steps, each with and without the monitor. */
    @Test
    @EnabledIfSystemProperty(named = "deadwatch.slow", matches = "true")
    void acceptanceOneBlockTransformer() throws Exception {
        checkSeeds(Kind.TINY, Integer.getInteger("deadwatch.seeds", 10), 20_000, 500, 5, false);
    }

    /**
     * Acceptance, MiniLM-size encoder: 10 seeds × 200 steps, each with and without the monitor. Four
     * reads a run, none with the order read: on this model one order read on the float32 path took
     * over 10 CPU minutes (the order read's invariance is the other tests' part).
     */
    @Test
    @EnabledIfSystemProperty(named = "deadwatch.slow", matches = "true")
    void acceptanceMiniLmSizeEncoder() throws Exception {
        checkSeeds(Kind.MINILM, Integer.getInteger("deadwatch.seeds", 10), 200, 50, Integer.MAX_VALUE, false);
    }

    private static void checkSeeds(Kind kind, int seeds, int steps, int interval, int orderEvery, boolean collect)
            throws Exception {
        int previous = GradMode.threadsOnThisThread(1); // frugal: the suite shares its cores
        try {
            // -Ddeadwatch.seedFrom=N runs seeds N, N+1, ... instead (an acceptance split over processes)
            int from = collect ? 0 : Integer.getInteger("deadwatch.seedFrom", 0);
            for (int seed = from; seed < from + seeds; seed++) {
                Run none = run(kind, seed, steps, Arm.NONE, interval, orderEvery, collect);
                Run f32 = run(kind, seed, steps, Arm.FLOAT32, interval, orderEvery, collect);
                Run replica = run(kind, seed, steps, Arm.REPLICA, interval, orderEvery, collect);
                System.err.printf(Locale.ROOT, "%s seed %d, %d steps: %s; float32 path %d reads (%d order);"
                        + " replica %d reads (%d order)%n", kind, seed, steps, none.checksum().substring(0, 12),
                        f32.reads(), f32.orderReads(), replica.reads(), replica.orderReads());
                for (Run r : List.of(none, f32, replica)) {
                    assertThat(r.nonFinite()).as("%s seed %d: parameters non-finite after %d steps", kind, seed, steps)
                            .isEmpty();
                }
                assertThat(f32.reads()).as("reads on the float32 path").isPositive();
                assertThat(replica.reads()).as("reads on the replica").isPositive();
                if ((long) orderEvery * interval <= steps) {
                    assertThat(f32.orderReads() + replica.orderReads()).as("order reads").isPositive();
                }
                assertThat(f32.checksum()).as("%s seed %d: final weights, float32-path monitor", kind, seed)
                        .isEqualTo(none.checksum());
                assertThat(replica.checksum()).as("%s seed %d: final weights, replica monitor", kind, seed)
                        .isEqualTo(none.checksum());
            }
        } finally {
            GradMode.threadsOnThisThread(previous);
        }
    }

    private static Run run(Kind kind, int seed, int steps, Arm arm, int interval, int orderEvery, boolean collect)
            throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance(kind.name())) {
            m.getEngine().setRandomSeed(seed);
            Supplier<Block> factory;
            Dataset train;
            Dataset validation;
            Shape input;
            float rate;
            int validateEvery;
            if (kind == Kind.TINY) {
                Grokking.Split split = Grokking.split(m, seed);
                factory = () -> TinyTransformer.build(Grokking.features(), Grokking.WIDTH, 4, 4 * Grokking.WIDTH,
                        Grokking.MODULUS, TinyTransformer.Norm.LAYER_NORM);
                train = split.train();
                validation = split.validation();
                input = Grokking.inputShape(split.trainSize());
                rate = 1e-3f;
                validateEvery = 25;
            } else {
                MiniEncoder.Size size = kind == Kind.MINILM ? MiniEncoder.Size.MINILM : MiniEncoder.Size.SMALL;
                factory = () -> MiniEncoder.build(size);
                train = MiniEncoder.data(m, size, 64, 8, seed);
                validation = MiniEncoder.data(m, size, 16, 8, seed + 1000L);
                input = size.inputShape(8);
                rate = 3e-4f;
                validateEvery = 50;
            }
            model.setBlock(factory.get());
            Loss loss = Loss.softmaxCrossEntropyLoss();
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(collect ? new CollectingLoss(loss, COLLECT_EVERY) : loss)
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(rate)).optBeta2(0.98f)
                            .optWeightDecays(Grokking.WEIGHT_DECAY).build());
            AtomicInteger reads = new AtomicInteger();
            AtomicInteger orderReads = new AtomicInteger();
            DeadwatchListener monitor = null;
            if (arm != Arm.NONE) {
                DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(interval)
                        .optOrderEvery(orderEvery).optBudget(1.0).optSeed(seed).optOnReport(r -> {
                            reads.incrementAndGet();
                            if (r.orderRead()) {
                                orderReads.incrementAndGet();
                            }
                        });
                b.optProbeSize(kind == Kind.TINY ? 64 : 16); // the reads' accuracy is not the point here: their cost is
                if (arm == Arm.REPLICA) {
                    b.optBlockFactory(factory);
                }
                monitor = b.build();
                cfg.addTrainingListeners(monitor);
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(input);
                TrainingLoop.run(trainer, train, validation, steps, validateEvery, 0);
                if (monitor != null) {
                    monitor.drain();
                }
                return new Run(ParameterState.checksum(model.getBlock()), NonFinite.of(model.getBlock(), false), reads.get(),
                        orderReads.get());
            } finally {
                if (monitor != null) {
                    monitor.close();
                }
            }
        }
    }
}
