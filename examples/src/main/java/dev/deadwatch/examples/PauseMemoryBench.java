package dev.deadwatch.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.monitor.PendingReads;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.reads.Activations;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code deadwatch bench --only pauses}: on a MiniLM-size encoder ({@link MiniEncoder}, 64 tokens,
 * batch and probe 16 sequences) and a small one, (1) the training pause per snapshot without a
 * replica: before (every read on the training thread, as the listener ran them until the split)
 * and after (the capture only; the rest on the worker), both timed directly on the model, and the
 * listener's own {@code deadwatch_training_pause_seconds} over a training run; (2) the memory a
 * float64 replica adds, as (peak RSS with the monitor − without) / bytes of the float32
 * parameters, with its live NDArrays and heap; (3) the order read with its per-layer sample.
 */
final class PauseMemoryBench {

    /** MiniLM-L6-H384's dimensions, 64 tokens. */
    static final MiniEncoder.Size MINILM = new MiniEncoder.Size(30522, 64, 384, 12, 6, 1536, 4);
    /** Sequences per batch and in the probe. */
    static final int BATCH = 16;
    /** Snapshot interval of the listener runs. */
    static final int INTERVAL = 4;

    private final int steps;
    private final int repeats;

    /**
     * @param steps training steps per listener run
     * @param repeats direct timings per measurement
     */
    PauseMemoryBench(int steps, int repeats) {
        this.steps = steps;
        this.repeats = repeats;
    }

    void write(StringBuilder md) throws Exception {
        md.append("## MiniLM: training pauses, replica memory, order read\n\n");
        md.append(String.format(Locale.ROOT, "`PauseMemoryBench`: MiniEncoder (BERT-style, DJL blocks) at MiniLM-L6-H384's"
                + " size with 64 tokens, and the small one of the test suite (8 tokens); batch and probe %d sequences;"
                + " Adam; float32 on the model unless a replica is named. Direct timings: median of %d"
                + " `[min..max]` on the calling thread after a warm-up. Listener runs: %d steps, a snapshot every %d,"
                + " no budget, no order read unless said. Load average at the start: %s.%n%n", BATCH, repeats, steps,
                INTERVAL, load()));
        md.append("| model | parameters | before: every read on the training thread (s) | after: the capture on the"
                + " training thread (s) | the rest, on the worker (s) | listener runs: `deadwatch_training_pause_seconds`"
                + " mean / max (s) | snapshots read / dropped busy |\n|---|---|---|---|---|---|---|\n");
        for (MiniEncoder.Size s : List.of(MiniEncoder.Size.SMALL, MINILM)) {
            pauses(md, s);
        }
        md.append("\n| replica | model | float32 parameters (MB) | peak RSS without the monitor (MB) | with (MB) |"
                + " ratio (with − without) / parameters | live NDArrays after the reads, monitor closed | reads |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        for (MiniEncoder.Size s : List.of(MiniEncoder.Size.SMALL, MINILM)) {
            memory(md, s);
        }
        md.append("\n| model | order read: candidates read of found | layers | time (s) | on the training thread"
                + " without a replica |\n|---|---|---|---|---|\n");
        for (MiniEncoder.Size s : List.of(MiniEncoder.Size.SMALL, MINILM)) {
            order(md, s);
        }
        md.append('\n');
    }

    private static String name(MiniEncoder.Size s) {
        return s == MINILM ? "MiniLM-size" : "small";
    }

    /** The model trained a few steps, bound to a probe of {@link #BATCH} sequences. */
    private interface OnModel {
        void run(ModelProbe probe, Block block) throws Exception;
    }

    private static void withTrained(MiniEncoder.Size s, OnModel body) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("bench")) {
            ArrayDataset data = MiniEncoder.data(m, s, BATCH * 4, BATCH, 1);
            model.setBlock(MiniEncoder.build(s));
            try (Trainer t = model.newTrainer(config())) {
                t.initialize(s.inputShape(BATCH));
                ProbeBatch probe = null;
                try {
                    for (Batch b : t.iterateDataset(data)) {
                        try (b) {
                            if (probe == null) {
                                probe = ProbeBatch.copyOf(m, b.getData(), b.getLabels());
                            }
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                    }
                    try (ModelProbe mp = new ModelProbe(t.getModel().getBlock(), probe, Precision.FLOAT32,
                            OutputMetric.SOFTMAX)) {
                        body.run(mp, t.getModel().getBlock());
                    }
                } finally {
                    if (probe != null) {
                        probe.close();
                    }
                }
            }
        }
    }

    private static DefaultTrainingConfig config() {
        return new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(3e-4f)).build());
    }

    private void pauses(StringBuilder md, MiniEncoder.Size s) throws Exception {
        ReadSuite suite = new ReadSuite(ReadSuite.defaults(Activations.DEFAULT_MAX_ROWS, List.of(), 0, true),
                ReadSuite.ReadObserver.NONE);
        double[][] t = new double[3][repeats];
        long[] params = new long[1];
        withTrained(s, (mp, block) -> {
            params[0] = parameters(block);
            Loss loss = Loss.softmaxCrossEntropyLoss();
            suite.read(mp, 0, loss); // warm-up
            for (int i = 0; i < repeats; i++) {
                long t0 = System.nanoTime();
                suite.read(mp, i, loss);
                t[0][i] = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                try (PendingReads pending = suite.capture(mp, i, loss, r -> true, n -> true)) {
                    t[1][i] = (System.nanoTime() - t0) / 1e9;
                    t0 = System.nanoTime();
                    pending.finish();
                    t[2][i] = (System.nanoTime() - t0) / 1e9;
                }
            }
        });
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        int[] reads = new int[1];
        double mean;
        double max;
        double busy;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL)
                .optOrderEvery(Integer.MAX_VALUE).optBudget(1.0).optProbeSize(BATCH).optRegistry(reg)
                .optOnReport(r -> reads[0]++).build()) {
            train(s, monitor);
            Timer pause = reg.get("deadwatch.training.pause").timer();
            mean = pause.mean(TimeUnit.SECONDS);
            max = pause.max(TimeUnit.SECONDS);
            busy = reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count();
        }
        md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %s | %s | %.3f / %.3f | %d / %.0f |%n", name(s), params[0],
                stat(t[0]), stat(t[1]), stat(t[2]), mean, max,
                reads[0], busy));
    }

    private void memory(StringBuilder md, MiniEncoder.Size s) throws Exception {
        long params = 0;
        try (Model probeModel = Model.newInstance("size")) {
            probeModel.setBlock(MiniEncoder.build(s));
            try (NDManager m = NDManager.newBaseManager()) {
                probeModel.getBlock().initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, s.inputShape(BATCH));
                params = parameters(probeModel.getBlock());
            }
        }
        int baseline = liveArrays();
        resetPeak();
        train(s, null);
        long without = peakRss();
        resetPeak();
        int[] reads = new int[1];
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL)
                .optOrderEvery(Integer.MAX_VALUE).optBudget(1.0).optProbeSize(BATCH).optWaitForReads(true)
                .optBlockFactory(() -> MiniEncoder.build(s)).optOnReport(r -> reads[0]++).build()) {
            train(s, monitor);
        }
        long with = peakRss();
        double bytes = 4.0 * params;
        md.append(String.format(Locale.ROOT, "| float64 | %s | %.1f | %d | %d | **%.2f** | %+d | %d |%n", name(s),
                bytes / 1e6, without >> 20, with >> 20, (with - without) / bytes, liveArrays() - baseline, reads[0]));
    }

    private void order(StringBuilder md, MiniEncoder.Size s) throws Exception {
        ReadSuite suite = new ReadSuite(List.of(new CensusRead(Detector.defaults(), 0)), ReadSuite.ReadObserver.NONE);
        withTrained(s, (mp, block) -> {
            long t0 = System.nanoTime();
            ReadReport r = suite.read(mp, 0, Loss.softmaxCrossEntropyLoss());
            double secs = (System.nanoTime() - t0) / 1e9;
            int found = r.orderSamples().stream().mapToInt(OrderSample::found).sum();
            int read = r.orderSamples().stream().mapToInt(OrderSample::read).sum();
            md.append(String.format(Locale.ROOT, "| %s | %d of %d (at most %d per layer, %d in all) | %d | %.1f | yes:"
                    + " bounded by the budget and the sample |%n", name(s), read, found, CensusRead.DEFAULT_MAX_PER_LAYER,
                    CensusRead.DEFAULT_MAX_TOTAL,
                    r.orderSamples().size(), secs));
        });
    }

    /** Trains {@link #steps} steps with the monitor (or none); the caller closes it. */
    private void train(MiniEncoder.Size s, DeadwatchListener monitor) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("bench")) {
            ArrayDataset data = MiniEncoder.data(m, s, BATCH * 8, BATCH, 2);
            model.setBlock(MiniEncoder.build(s));
            DefaultTrainingConfig cfg = config();
            if (monitor != null) {
                cfg.addTrainingListeners(monitor);
            }
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(s.inputShape(BATCH));
                int step = 0;
                while (step < steps) {
                    for (Batch b : t.iterateDataset(data)) {
                        try (b) {
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                        if (++step >= steps) {
                            break;
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
            }
        }
    }

    private static long parameters(Block b) {
        long n = 0;
        for (Pair<String, Parameter> p : b.getParameters()) {
            n += p.getValue().getArray().size();
        }
        return n;
    }

    private String stat(double[] v) {
        List<Double> l = java.util.Arrays.stream(v).boxed().toList();
        return BenchCommand.stat(l, "%.3f", 1);
    }

    private static int liveArrays() {
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    /** Resets the process's peak RSS (Linux: writing 5 to clear_refs). */
    private static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | RuntimeException e) {
            // not Linux, or not allowed: the peak then covers the whole process so far
        }
    }

    /** @return peak RSS since the last reset, bytes (VmHWM), or the current RSS where unknown */
    private static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return Runtime.getRuntime().totalMemory();
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }
}
