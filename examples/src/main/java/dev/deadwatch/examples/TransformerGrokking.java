package dev.deadwatch.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.detectors.LayerNormKernelDetector;
import dev.deadwatch.detectors.NodeDeathDetector;
import dev.deadwatch.detectors.QueryKeyRotationDetector;
import dev.deadwatch.detectors.RankDeficitDetector;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import dev.deadwatch.listener.TimelineRow;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.regime.RegimeChange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Grokking on the one-layer transformer of the grokking literature ({@link ModularTransformer}:
 * token and position embeddings, pre-norm attention and MLP blocks, a final LayerNorm, the
 * unembedding), trained full-batch with Adam and strong L2 weight decay on half of the
 * modular-addition table. It memorises within a couple of hundred steps and generalises
 * much later; the monitor reads the MLP's units dying (node death, order {@code k = 2} for
 * ReLU), the LayerNorm kernel of each norm and the query–key rotation gauge through the jump.
 */
public final class TransformerGrokking {

    /** The modulus. */
    public static final int MODULUS = 43;
    /** Fraction of the unordered pairs {@code {a, b}} used for training (both orders). */
    public static final double TRAIN_FRACTION = 0.5;
    /** Default optimizer steps. */
    public static final int DEFAULT_STEPS = 1500;
    /** Adam learning rate. */
    public static final float LEARNING_RATE = 5e-3f;
    /**
     * L2 weight decay through Adam's gradient. Not AdamW's decoupled decay: with AdamW (decay 1,
     * lr 5e-3) this model grokked at step ~2000 but no ReLU unit of the MLP died in 2500 steps
     * (the smallest unit's incoming × outgoing norm stayed above 0.27 of the layer's typical
     * unit): Adam's normalised step keeps any unit that still carries a little gradient at full
     * size against a multiplicative decay. Through the gradient, the decay of a weight whose loss
     * gradient is small is itself normalised, a step of about the learning rate towards zero, and
     * units the solution does not need die after the jump.
     */
    public static final float WEIGHT_DECAY = 3e-2f;
    /** Adam's β₂. */
    public static final float BETA2 = 0.98f;
    /**
     * Adam's ε, larger than the usual 1e-8: once the table is memorised the gradients are tiny,
     * and with ε = 1e-8 the normalised steps grew into loss spikes that threw validation accuracy
     * back from 97% to 30–70% after the jump (AdamW, seed 42); 1e-5 damps them.
     */
    public static final float EPSILON = 1e-5f;
    /**
     * Engine threads of the training thread: one, so the run is the same on any machine with this
     * engine build (the spikes before the jump make the trajectory sensitive to the order of float
     * sums), and the monitor's worker has the second core.
     */
    public static final int ENGINE_THREADS = 1;
    /** Model width. */
    public static final int WIDTH = 32;
    /** Attention heads. */
    public static final int HEADS = 4;
    /** MLP hidden width. */
    public static final int MLP = 4 * WIDTH;
    /** Default snapshot interval. */
    public static final int INTERVAL = 25;
    /** The order read runs on every this many snapshots. */
    public static final int ORDER_EVERY = 4;
    /** The MLP's activation (its dead units have order {@link ModularTransformer.Act#deadOrder}). */
    public static final ModularTransformer.Act ACTIVATION = ModularTransformer.Act.RELU;

    /** Training accuracy at which the table counts as memorised. */
    public static final double MEMORISED = 0.99;
    /** Validation accuracy at which it counts as generalised. */
    public static final double GENERALISED = 0.95;

    private static final int VOCAB = MODULUS + 1; // the residues and '='
    private static final int LOG10_FLOOR = -18; // the chart's floor for exact zeros

    private TransformerGrokking() {}

    /** @return a fresh model block (the monitor's block factory) */
    public static Block model() {
        return ModularTransformer.build(VOCAB, WIDTH, HEADS, MLP, MODULUS, ACTIVATION);
    }

    /**
     * @param monitor the monitor (still serving its endpoint if it has one: close it)
     * @param changes confirmed regime changes
     * @param reports every read, in step order
     * @param steps training steps seen
     * @param nonFiniteSteps steps whose forward pass was not finite
     * @param finiteAtEnd whether every parameter was finite after the last step
     */
    public record Result(DeadwatchListener monitor, List<RegimeChange> changes, List<ReadReport> reports,
            long steps, long nonFiniteSteps, boolean finiteAtEnd) {

        /**
         * The reads the timeline does not carry, as extra report columns per step: each norm's
         * LayerNorm kernel ({@code yes}/{@code no}) and {@code q}, and at each order read the
         * query–key rotation's classification and how the MLP's node-death candidates read.
         *
         * @return step → column → value
         */
        public Map<Long, Map<String, String>> extraColumns() {
            Map<Long, Map<String, String>> out = new LinkedHashMap<>();
            for (ReadReport r : reports) {
                Map<String, String> row = out.computeIfAbsent(r.step(), k -> new LinkedHashMap<>());
                for (LayerNormResult n : r.layerNorms()) {
                    row.put("kernel:" + n.layer(), n.kernel() ? "yes" : "no");
                    row.put("q:" + n.layer(), String.format(Locale.ROOT, "%.3g", n.rayleigh()));
                }
                if (!r.orderRead()) {
                    continue;
                }
                for (OrderResult o : r.orders()) {
                    if (o.candidate().equals("qk-rotation")) {
                        row.put("qk:" + o.layer(), o.orderLabel());
                    }
                }
                nodeDeathReads(r).forEach((layer, labels) -> row.put("node_death_reads:" + layer, labels));
            }
            return out;
        }

        /** @return the extra columns and a chart panel of {@code log10 |q|} per norm and the query–key orbit */
        public Report.Extras extras() {
            Map<String, Map<Long, Double>> lines = new LinkedHashMap<>();
            Map<String, Map<Long, Double>> markers = new LinkedHashMap<>();
            for (ReadReport r : reports) {
                for (LayerNormResult n : r.layerNorms()) {
                    lines.computeIfAbsent("log10 |q| " + n.layer(), k -> new LinkedHashMap<>())
                            .put(r.step(), floored(Math.abs(n.rayleigh())));
                }
                for (OrderResult o : r.orders()) {
                    if (o.candidate().equals("qk-rotation")) {
                        markers.computeIfAbsent("query-key rotation: log10 F/F_ref, " + o.orderLabel(),
                                k -> new LinkedHashMap<>()).put(r.step(), floored(Math.pow(10, o.magnitudeLog10())));
                    }
                }
            }
            return new Report.Extras(extraColumns(),
                    "LayerNorm kernels (q < 1e-6: kernel) and the query-key gauge (floored at 1e" + LOG10_FLOOR + ")",
                    "log10", lines, markers);
        }

        /** @return the run in a few lines: the jump, each norm's last kernel read, the gauge, the deaths */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            List<TimelineRow> rows = monitor.timeline();
            rows.stream().filter(x -> x.trainAccuracy() >= MEMORISED).findFirst().ifPresent(x -> sb.append(String.format(
                    Locale.ROOT, "memorised (train accuracy %.3f) at step %d, validation %.3f%n", x.trainAccuracy(),
                    x.step(), x.validationAccuracy())));
            rows.stream().filter(x -> x.validationAccuracy() > GENERALISED).findFirst().ifPresent(x -> sb.append(
                    String.format(Locale.ROOT, "generalised (validation accuracy %.3f) at step %d%n",
                            x.validationAccuracy(), x.step())));
            ReadReport last = reports.isEmpty() ? null : reports.get(reports.size() - 1);
            if (last != null) {
                for (LayerNormResult n : last.layerNorms()) {
                    sb.append(String.format(Locale.ROOT, "%-30s kernel %-3s q %9.2e (step %d)%n", n.layer(),
                            n.kernel() ? "yes" : "no", n.rayleigh(), last.step()));
                }
            }
            reports.stream().filter(ReadReport::orderRead).reduce((a, b) -> b).ifPresent(r -> {
                r.orders().stream().filter(o -> o.candidate().equals("qk-rotation")).forEach(o -> sb.append(
                        String.format(Locale.ROOT, "%-30s query-key rotation: %s (step %d)%n", o.layer(),
                                o.summary(), r.step())));
                Map<String, String> reads = nodeDeathReads(r);
                nodeDeaths(r).forEach((layer, n) -> sb.append(String.format(Locale.ROOT,
                        "%-30s node death: %d of %d candidates dead at the predicted order k=%d (read: %s; step %d)%n",
                        layer, n[1], n[0], ACTIVATION.deadOrder(), reads.get(layer), r.step())));
            });
            return sb.toString();
        }

        private static double floored(double v) {
            return Math.max(Math.log10(v), LOG10_FLOOR);
        }

        /** @return layer → how its node-death candidates read, e.g. {@code 4 × k=2, 7 × preasymptotic} */
        static Map<String, String> nodeDeathReads(ReadReport r) {
            Map<String, List<String>> labels = new LinkedHashMap<>();
            for (OrderResult o : r.orders()) {
                if (o.candidate().startsWith("node-death")) {
                    labels.computeIfAbsent(o.layer(), k -> new ArrayList<>()).add(o.orderLabel());
                }
            }
            Map<String, String> out = new LinkedHashMap<>();
            labels.forEach((layer, l) -> out.put(layer, DemoCommand.census(String.join(",", l))));
            return out;
        }

        /**
         * @param r a read
         * @return layer → {node-death candidates, of them dead at the order their detector predicted}
         */
        static Map<String, int[]> nodeDeaths(ReadReport r) {
            Map<String, int[]> out = new LinkedHashMap<>();
            for (OrderResult o : r.orders()) {
                if (o.candidate().startsWith("node-death")) {
                    int[] n = out.computeIfAbsent(o.layer(), k -> new int[2]);
                    n[0]++;
                    if (o.isDead() && o.order() == o.predicted().order()) {
                        n[1]++;
                    }
                }
            }
            return out;
        }
    }

    /**
     * Trains with the monitor attached.
     *
     * @param s settings
     * @return the run
     */
    public static Result run(Settings s) throws IOException, TranslateException {
        int steps = s.stepsOr(DEFAULT_STEPS);
        List<RegimeChange> changes = Collections.synchronizedList(new ArrayList<>());
        List<ReadReport> reports = Collections.synchronizedList(new ArrayList<>());
        DeadwatchListenerBuilder b = DeadwatchListener.builder()
                .optInterval(s.intervalOr(INTERVAL))
                .optOrderEvery(ORDER_EVERY)
                .optOrderCandidates(Integer.MAX_VALUE, Integer.MAX_VALUE) // a study of every unit: all candidates
                .optOrderSeconds(Double.POSITIVE_INFINITY) // every time, however slow the machine
                .optDetectors(List.of(new NodeDeathDetector(), new BottomSubspaceDetector(Spectrum.EPS_DEAD, 2),
                        new LayerNormKernelDetector(), new QueryKeyRotationDetector(), new RankDeficitDetector()))
                .optBudget(Grokking.BUDGET)
                .optWaitForReads(true) // a row for every snapshot, however loaded the machine
                .optBlockFactory(TransformerGrokking::model)
                .optRunId("transformer-" + s.seed())
                .optOnReport(reports::add)
                .optOnRegimeChange(changes::add);
        s.exportTo(b, true, true);
        DeadwatchListener monitor = b.build();
        FiniteSteps finite = new FiniteSteps();
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("transformer-grokking")) {
            m.getEngine().setRandomSeed(s.seed());
            Grokking.Split split = split(m, s.seed());
            model.setBlock(model());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(LEARNING_RATE))
                            .optBeta2(BETA2).optEpsilon(EPSILON).optWeightDecays(WEIGHT_DECAY).build())
                    .addTrainingListeners(monitor, finite);
            if (s.progress()) {
                cfg.addTrainingListeners(new ProgressBar(steps, monitor, System.err));
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(split.trainSize(), ModularTransformer.POSITIONS, VOCAB));
                TrainingLoop.run(trainer, split.train(), split.validation(), steps, INTERVAL, ENGINE_THREADS);
            }
        }
        List<ReadReport> sorted;
        synchronized (reports) {
            sorted = new ArrayList<>(reports);
        }
        sorted.sort(java.util.Comparator.comparingLong(ReadReport::step));
        return new Result(monitor, List.copyOf(changes), List.copyOf(sorted), finite.steps(), finite.nonFinite(),
                finite.finiteParameters());
    }

    /**
     * The table split by unordered pair: {@code (a, b)} and {@code (b, a)} fall on the same side,
     * so validation asks for sums whose commuted twin was never seen.
     */
    static Grokking.Split split(NDManager m, int seed) {
        List<int[]> unordered = new ArrayList<>();
        for (int a = 0; a < MODULUS; a++) {
            for (int c = a; c < MODULUS; c++) {
                unordered.add(new int[] {a, c});
            }
        }
        Collections.shuffle(unordered, new Random(seed));
        int nTrain = (int) Math.round(TRAIN_FRACTION * unordered.size());
        List<int[]> train = new ArrayList<>();
        List<int[]> validation = new ArrayList<>();
        for (int i = 0; i < unordered.size(); i++) {
            int[] q = unordered.get(i);
            List<int[]> side = i < nTrain ? train : validation;
            side.add(q);
            if (q[0] != q[1]) {
                side.add(new int[] {q[1], q[0]});
            }
        }
        return new Grokking.Split(data(m, train), data(m, validation), train.size());
    }

    private static ArrayDataset data(NDManager m, List<int[]> pairs) {
        int n = pairs.size();
        float[] x = new float[n * ModularTransformer.POSITIONS * VOCAB];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            int[] p = pairs.get(i);
            int[] tokens = {p[0], p[1], MODULUS};
            for (int pos = 0; pos < ModularTransformer.POSITIONS; pos++) {
                x[(i * ModularTransformer.POSITIONS + pos) * VOCAB + tokens[pos]] = 1;
            }
            y[i] = (p[0] + p[1]) % MODULUS;
        }
        NDArray xs = m.create(x, new Shape(n, ModularTransformer.POSITIONS, VOCAB));
        NDArray ys = m.create(y, new Shape(n));
        return new ArrayDataset.Builder().setData(xs).optLabels(ys).setSampling(n, false).build();
    }
}
