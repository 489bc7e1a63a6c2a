package dev.deadwatch.examples;

import dev.deadwatch.listener.DeadwatchListenerBuilder;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.reads.LayerNormResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The LayerNorm kernel and its absence: the same transformer trained twice on modular addition,
 * once with LayerNorm and once with RMSNorm. The inverse-scale direction {@code γ⁻¹/‖γ⁻¹‖} comes
 * from the parameters alone in both; the forward pass confirms it as an exact kernel
 * ({@code q ≈ 0}) only where the norm subtracts the mean.
 */
public final class LayerNormTwins {

    /** Default optimizer steps per twin. */
    public static final int DEFAULT_STEPS = 300;

    private LayerNormTwins() {}

    /**
     * @param layerNorm monitor of the LayerNorm twin (close it)
     * @param rmsNorm monitor of the RMSNorm twin (close it)
     * @param layerNormReads the last LayerNorm read of each norm layer, LayerNorm twin
     * @param rmsNormReads likewise, RMSNorm twin
     */
    public record Result(DeadwatchListener layerNorm, DeadwatchListener rmsNorm,
            List<LayerNormResult> layerNormReads, List<LayerNormResult> rmsNormReads) {

        /** @return a table of the two twins' norm reads */
        public String summary() {
            StringBuilder sb = new StringBuilder("norm layer                        twin       min|γ|    q          alignment  kernel\n");
            for (var pair : List.of(List.of("LayerNorm", layerNormReads), List.of("RMSNorm", rmsNormReads))) {
                @SuppressWarnings("unchecked")
                List<LayerNormResult> reads = (List<LayerNormResult>) pair.get(1);
                for (LayerNormResult r : reads) {
                    sb.append(String.format(Locale.ROOT, "%-33s %-9s %8.4f  %9.2e  %9.6f  %s%n", r.layer(),
                            pair.get(0), r.gammaMinAbs(), r.rayleigh(), r.alignment(), r.kernel() ? "yes" : "no"));
                }
            }
            return sb.toString();
        }
    }

    /**
     * Trains both twins with a monitor each.
     *
     * @param s settings (the endpoint, if any, serves the LayerNorm twin)
     * @return the reads
     */
    public static Result run(Settings s) throws IOException, TranslateException {
        List<LayerNormResult> ln = Collections.synchronizedList(new ArrayList<>());
        List<LayerNormResult> rms = Collections.synchronizedList(new ArrayList<>());
        DeadwatchListener a = train(s, TinyTransformer.Norm.LAYER_NORM, ln, true);
        DeadwatchListener b = train(s, TinyTransformer.Norm.RMS_NORM, rms, false);
        return new Result(a, b, last(ln), last(rms));
    }

    private static List<LayerNormResult> last(List<LayerNormResult> all) {
        java.util.Map<String, LayerNormResult> byLayer = new java.util.LinkedHashMap<>();
        synchronized (all) {
            all.forEach(r -> byLayer.put(r.layer(), r));
        }
        return List.copyOf(byLayer.values());
    }

    private static DeadwatchListener train(Settings s, TinyTransformer.Norm norm, List<LayerNormResult> sink,
            boolean serve) throws IOException, TranslateException {
        int steps = s.stepsOr(DEFAULT_STEPS);
        Supplier<Block> factory = () -> TinyTransformer.build(Grokking.features(), Grokking.WIDTH, 4,
                4 * Grokking.WIDTH, Grokking.MODULUS, norm);
        String name = norm == TinyTransformer.Norm.LAYER_NORM ? "layernorm" : "rmsnorm";
        DeadwatchListenerBuilder b = DeadwatchListener.builder()
                .optInterval(s.intervalOr(50))
                .optOrderEvery(3)
                .optBlockFactory(factory)
                .optRunId(name + "-" + s.seed())
                .optOnReport(r -> sink.addAll(r.layerNorms()));
        s.exportTo(b, serve, false); // the twins would share one snapshot folder
        DeadwatchListener monitor = b.build();
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance(name)) {
            m.getEngine().setRandomSeed(s.seed());
            Grokking.Split split = Grokking.split(m, s.seed());
            model.setBlock(factory.get());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f))
                            .optBeta2(0.98f).optWeightDecays(Grokking.WEIGHT_DECAY).build())
                    .addTrainingListeners(monitor);
            if (s.progress()) {
                cfg.addTrainingListeners(new ProgressBar(steps, monitor, System.err));
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(Grokking.inputShape(split.trainSize()));
                TrainingLoop.run(trainer, split.train(), split.validation(), steps, 25);
            }
        }
        return monitor;
    }
}
