package dev.deadwatch.minilm;

import static dev.deadwatch.minilm.MiniLmReport.counts;
import static dev.deadwatch.minilm.MiniLmReport.normTable;
import static dev.deadwatch.minilm.MiniLmReport.peakRss;
import static dev.deadwatch.minilm.MiniLmReport.rss;
import static dev.deadwatch.minilm.MiniLmReport.secs;
import static dev.deadwatch.minilm.MiniLmReport.writeDds;
import static dev.deadwatch.minilm.MiniLmReport.writeOrders;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.census.Census;
import dev.deadwatch.examples.ProgressBar;
import dev.deadwatch.examples.Settings;
import dev.deadwatch.examples.TrainingLoop;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code deadwatch demo minilm}: a real pretrained transformer, all-MiniLM-L6-v2, imported into
 * DJL from the ONNX model of a Maven artifact, checked against ONNX Runtime, read frozen, then
 * fine-tuned with the monitor attached. Writes {@code layernorm.csv}, {@code dds.csv},
 * {@code order.csv} and {@code summary.txt} to the report folder (docs/minilm.md).
 */
public final class MiniLmDemo {

    /** Largest allowed difference between the DJL model's sentence embeddings and ONNX Runtime's. */
    public static final double IMPORT_TOLERANCE = 1e-4;
    /** Probe of the frozen read: sequences … */
    public static final int PROBE_SEQUENCES = 192;
    /** … of this many random words (+ [CLS], [SEP]: 16 tokens, 3072 rows, twice the MLP width). */
    public static final int PROBE_WORDS = 14;
    /** Sequences of the frozen order read's probe (the first of the read's probe). */
    public static final int ORDER_SEQUENCES = 4;
    /** Candidates order-read by default, one per detector in turn ({@code -Ddeadwatch.minilm.order=N}; 0: all). */
    public static final int DEFAULT_ORDER_CANDIDATES = 4;
    /** Fine-tuning steps by default. */
    public static final int DEFAULT_STEPS = 100;
    /** Snapshot interval by default. */
    public static final int DEFAULT_INTERVAL = 25;
    /** Fine-tuning batch size. */
    public static final int BATCH = 32;
    /** Samples of the monitor's probe during fine-tuning (768 rows). */
    public static final int TUNE_PROBE = 96;
    /** Held-out sentences of the task. */
    public static final int VALIDATION = 256;
    /** Candidates of each live order read. */
    public static final int LIVE_ORDER_CANDIDATES = 2;
    /**
     * Live order read every this many snapshots by default ({@code -Ddeadwatch.minilm.liveOrderEvery=N}):
     * off in a default run, whose order read is the frozen one (a candidate costs about 40 float64
     * forward passes of the monitor's probe, over a minute here).
     */
    public static final int DEFAULT_LIVE_ORDER_EVERY = 1000;
    /** Fine-tuning learning rate (Adam). */
    public static final float LEARNING_RATE = 1e-4f;

    private MiniLmDemo() {}

    /**
     * @param maxAbsDiff32 largest difference of any embedding coordinate, float32 model
     * @param maxAbsDiff64 likewise, float64 model
     * @param sentences sentences compared
     */
    public record ImportCheck(double maxAbsDiff32, double maxAbsDiff64, int sentences) {
        /** @return whether both are within {@link #IMPORT_TOLERANCE} */
        public boolean passed() {
            return maxAbsDiff32 <= IMPORT_TOLERANCE && maxAbsDiff64 <= IMPORT_TOLERANCE;
        }
    }

    /**
     * @param check the import check
     * @param norms the frozen read of every LayerNorm (float64 replica)
     * @param norms32 the same in float32, or empty when not read
     * @param dds the frozen DDS reads (float64)
     * @param candidates candidates found, by detector
     * @param orders the order reads of the sampled candidates
     * @param monitor the fine-tuning monitor (close it)
     * @param live every read the monitor completed while fine-tuning
     * @param validationAccuracy validation accuracy before and after fine-tuning
     * @param costs seconds and memory, by name
     */
    public record Result(ImportCheck check, List<FrozenRead.NormRow> norms, List<FrozenRead.NormRow> norms32,
            List<DdsResult> dds, Map<String, List<Candidate>> candidates, List<OrderResult> orders,
            DeadwatchListener monitor, List<ReadReport> live, double[] validationAccuracy, Map<String, String> costs) {}

    /**
     * Runs the whole demo.
     *
     * @param s settings (steps, interval, endpoint, seed)
     * @param out report folder
     * @return the result
     */
    public static Result run(Settings s, Path out) throws IOException, TranslateException {
        int orderCandidates = Integer.getInteger("deadwatch.minilm.order", DEFAULT_ORDER_CANDIDATES);
        boolean float32 = Boolean.getBoolean("deadwatch.minilm.float32");
        Map<String, String> costs = new java.util.LinkedHashMap<>();
        long t0 = System.nanoTime();
        Checkpoint checkpoint = Checkpoint.allMiniLmL6V2();
        costs.put("parse the ONNX model (s)", secs(t0));
        try (Tokens tokens = Tokens.allMiniLmL6V2(); NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(s.seed());
            long[][] probe = Sentences.wordSalad(PROBE_SEQUENCES, PROBE_WORDS, s.seed());
            long t1 = System.nanoTime();
            MiniLm model = MiniLm.allMiniLmL6V2();
            model.initialize(m, DataType.FLOAT32, new Shape(1, PROBE_WORDS + 2));
            checkpoint.loadInto(model);
            costs.put("build and load the DJL model (s)", secs(t1));
            costs.put("forward, 32 × 16 tokens, float32 (s)", String.format(Locale.ROOT, "%.3f", forwardSeconds(model, probe, m)));

            // 1. the import check
            ImportCheck check;
            List<FrozenRead.NormRow> norms;
            List<FrozenRead.NormRow> norms32 = List.of();
            List<DdsResult> dds;
            Map<String, List<Candidate>> found;
            List<OrderResult> orders;
            List<float[]> reference = reference(Sentences.IMPORT_CHECK);
            double d32 = maxAbsDiff(SentenceEmbeddings.embed(model, tokens, Sentences.IMPORT_CHECK), reference);
            try (Replica replica = Replica.float64(MiniLm::allMiniLmL6V2, model, m, new Shape(1, PROBE_WORDS + 2))) {
                MiniLm model64 = (MiniLm) replica.block();
                double d64 = maxAbsDiff(SentenceEmbeddings.embed(model64, tokens, Sentences.IMPORT_CHECK), reference);
                check = new ImportCheck(d32, d64, Sentences.IMPORT_CHECK.size());
                System.out.printf(Locale.ROOT, "import check: %d sentences, max |DJL − ONNX Runtime| = %.2e (float32), %.2e (float64): %s%n",
                        check.sentences(), d32, d64, check.passed() ? "passed" : "FAILED");
                if (!check.passed()) {
                    throw new IllegalStateException("the import check failed: " + check);
                }
                costs.put("forward, 32 × 16 tokens, float64 (s)", String.format(Locale.ROOT, "%.3f", forwardSeconds(model64, probe, m)));

                // 2. the frozen read
                if (float32) {
                    long r0 = System.nanoTime();
                    ReadReport r32 = FrozenRead.read(model, Precision.FLOAT32, probe, m);
                    costs.put("full read without the order read, float32 (s)", secs(r0));
                    costs.put("RSS after it (MB)", rss());
                    norms32 = FrozenRead.norms(model, model, r32);
                }
                long r0 = System.nanoTime();
                ReadReport r64 = FrozenRead.read(model64, Precision.FLOAT64, probe, m);
                costs.put("full read without the order read, float64 replica (s)", secs(r0));
                costs.put("RSS after it (MB)" + (float32 ? ", float64" : ""), rss());
                costs.put("peak RSS so far (MB)", peakRss());
                norms = FrozenRead.norms(model64, model64, r64);
                dds = r64.dds();
                System.out.print(normTable(norms));
                FrozenRead.writeCsv(out.resolve("layernorm.csv"), norms);
                writeDds(out.resolve("dds.csv"), dds);

                // 3. the order read, on a sample of the candidates
                try (ProbeBatch full = ProbeBatch.copyOf(m, new NDList(FrozenRead.idArray(m, probe)), null);
                        ModelProbe mp = new ModelProbe(model64, full, Precision.FLOAT64, OutputMetric.IDENTITY);
                        ProbeBatch small = ProbeBatch.copyOf(m, new NDList(FrozenRead.idArray(m,
                                Arrays.copyOf(probe, ORDER_SEQUENCES))), null);
                        ModelProbe op = new ModelProbe(model64, small, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                    long o0 = System.nanoTime();
                    found = FrozenRead.candidates(mp, orderCandidates > 0 ? FrozenRead.predicting() : FrozenRead.detectors(1));
                    costs.put("detect candidates (s)", secs(o0));
                    List<Candidate> sample = FrozenRead.sample(found, orderCandidates);
                    o0 = System.nanoTime();
                    orders = FrozenRead.order(op, sample, s.seed());
                    costs.put("order read of " + orders.size() + " candidates, " + ORDER_SEQUENCES + " × 16 tokens (s)", secs(o0));
                    System.out.println("order read (" + orders.size() + " of " + found.values().stream().mapToInt(List::size).sum()
                            + " candidates; by detector " + counts(found) + "):");
                    orders.forEach(o -> System.out.println("  " + o.layer() + " " + o.candidate() + ": " + o.summary()));
                    writeOrders(out.resolve("order.csv"), orders);
                }
            }

            // 4. fine-tuning with the monitor attached
            List<ReadReport> live = Collections.synchronizedList(new ArrayList<>());
            double[] accuracy = new double[2];
            long f0 = System.nanoTime();
            DeadwatchListener monitor = fineTune(s, tokens, checkpoint, live, accuracy, m);
            costs.put("fine-tune " + (s.steps() > 0 ? s.steps() : DEFAULT_STEPS) + " steps with the monitor (s)", secs(f0));
            Result r = new Result(check, norms, norms32, dds, found, orders, monitor, List.copyOf(live), accuracy, costs);
            Files.writeString(out.resolve("summary.txt"), summary(r), StandardCharsets.UTF_8);
            return r;
        }
    }

    private static DeadwatchListener fineTune(Settings s, Tokens tokens, Checkpoint checkpoint, List<ReadReport> live,
            double[] accuracy, NDManager parent) throws IOException, TranslateException {
        int steps = s.steps() > 0 ? s.steps() : DEFAULT_STEPS;
        int interval = s.interval() > 0 ? s.interval() : DEFAULT_INTERVAL;
        Sentences.Task task = Sentences.Task.generate(s.seed());
        long[][] ids = task.ids(tokens);
        try (NDManager m = parent.newSubManager(); Model model = Model.newInstance("minilm")) {
            long[][] valIds = Arrays.copyOfRange(ids, 0, VALIDATION);
            long[][] trainIds = Arrays.copyOfRange(ids, VALIDATION, ids.length);
            int[] valY = Arrays.copyOfRange(task.labels(), 0, VALIDATION);
            int[] trainY = Arrays.copyOfRange(task.labels(), VALIDATION, ids.length);
            ArrayDataset train = new ArrayDataset.Builder().setData(FrozenRead.idArray(m, trainIds))
                    .optLabels(labels(m, trainY)).setSampling(BATCH, true).build();
            ArrayDataset validation = new ArrayDataset.Builder().setData(FrozenRead.idArray(m, valIds))
                    .optLabels(labels(m, valY)).setSampling(VALIDATION, false).build();
            DeadwatchListenerBuilder b = DeadwatchListener.builder()
                    .optInterval(interval)
                    .optOrderEvery(Integer.getInteger("deadwatch.minilm.liveOrderEvery", DEFAULT_LIVE_ORDER_EVERY))
                    .optBudget(1.0)
                    .optBlockFactory(() -> new MiniLmClassifier(MiniLm.allMiniLmL6V2(), 2))
                    .optProbe(new NDList(FrozenRead.idArray(m, Arrays.copyOf(trainIds, TUNE_PROBE))),
                            new NDList(labels(m, Arrays.copyOf(trainY, TUNE_PROBE))))
                    .optDetectors(List.of(FrozenRead.sampled(FrozenRead.predicting(), LIVE_ORDER_CANDIDATES)))
                    .optRunId("minilm-" + s.seed())
                    .optOnReport(live::add);
            if (s.port() >= 0) {
                b.optPrometheusEndpoint(s.host(), s.port());
            }
            if (s.registry() != null) {
                b.optRegistry(s.registry());
            }
            DeadwatchListener monitor = b.build();
            MiniLmClassifier block = new MiniLmClassifier(MiniLm.allMiniLmL6V2(), 2);
            model.setBlock(block);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(LEARNING_RATE)).build())
                    .addTrainingListeners(monitor);
            if (s.progress()) {
                cfg.addTrainingListeners(new ProgressBar(steps, monitor, System.err));
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(BATCH, Sentences.Task.LENGTH));
                checkpoint.loadInto(block.encoder());
                accuracy[0] = accuracy(block, valIds, valY, m);
                TrainingLoop.run(trainer, train, validation, steps, interval);
                accuracy[1] = accuracy(block, valIds, valY, m);
            }
            return monitor;
        }
    }

    static NDArray labels(NDManager m, int[] y) {
        float[] f = new float[y.length];
        for (int i = 0; i < y.length; i++) {
            f[i] = y[i];
        }
        return m.create(f, new Shape(y.length));
    }

    static double accuracy(Block block, long[][] ids, int[] y, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            NDArray logits = GradMode.off(() -> block.forward(new ParameterStore(m, false),
                    new NDList(FrozenRead.idArray(m, ids)), false).head());
            logits.attach(m);
            long[] pred = logits.argMax(1).toLongArray();
            int right = 0;
            for (int i = 0; i < y.length; i++) {
                right += pred[i] == y[i] ? 1 : 0;
            }
            return right / (double) y.length;
        }
    }

    /**
     * @param texts sentences
     * @return their embeddings by the artifact's own model (ONNX Runtime, langchain4j's
     *     tokenisation, mean pooling and normalisation)
     */
    public static List<float[]> reference(List<String> texts) {
        AllMiniLmL6V2EmbeddingModel ref = new AllMiniLmL6V2EmbeddingModel();
        List<float[]> out = new ArrayList<>();
        for (String t : texts) {
            out.add(ref.embed(t).content().vector());
        }
        return out;
    }

    /**
     * @param mine embeddings
     * @param reference embeddings of the same sentences
     * @return the largest absolute difference of any coordinate
     */
    public static double maxAbsDiff(double[][] mine, List<float[]> reference) {
        if (mine.length != reference.size()) {
            throw new IllegalArgumentException(mine.length + " embeddings against " + reference.size());
        }
        double max = 0;
        for (int i = 0; i < mine.length; i++) {
            float[] r = reference.get(i);
            if (r.length != mine[i].length) {
                throw new IllegalArgumentException("width " + mine[i].length + " against " + r.length);
            }
            for (int j = 0; j < r.length; j++) {
                max = Math.max(max, Math.abs(mine[i][j] - r[j]));
            }
        }
        return max;
    }

    private static double forwardSeconds(Block model, long[][] probe, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            NDList in = new NDList(FrozenRead.idArray(m, Arrays.copyOf(probe, BATCH)));
            GradMode.off(() -> model.forward(new ParameterStore(m, false), in, false)); // warm-up
            long t0 = System.nanoTime();
            int reps = 3;
            for (int i = 0; i < reps; i++) {
                GradMode.off(() -> model.forward(new ParameterStore(m, false), in, false));
            }
            return (System.nanoTime() - t0) / 1e9 / reps;
        }
    }

    /**
     * @param r a run
     * @return the run's summary, as written to summary.txt
     */
    public static String summary(Result r) {
        return MiniLmReport.summary(r);
    }
}
