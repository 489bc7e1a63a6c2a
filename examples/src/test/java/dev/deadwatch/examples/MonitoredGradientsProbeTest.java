package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.deadwatch.listener.DeadwatchListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The bench's MiniLM-size training, watched on copies with the engine's default thread count,
 * checked on every step: every parameter's gradient in a listener before the monitor's and in one
 * after it, and every parameter after the update; a failure says where the first non-finite value
 * showed (training's backward pass, the monitor, or the optimizer). It caught training's own
 * backward pass going non-finite in 3 of 18 runs on 2026-12-06, while the eigensolver's JNI binding
 * put OpenBLAS in the process's global scope (docs/findings.md; {@link BlasInterpositionTest} is
 * the fast check of the cause). Opt-in ({@code -Ddeadwatch.slow=true}, about a minute a run;
 * {@code -Ddeadwatch.probeRuns=N}).
 */
class MonitoredGradientsProbeTest {

    private static final int STEPS = 24;

    @Test
    @EnabledIfSystemProperty(named = "deadwatch.slow", matches = "true")
    void monitoredTrainingOnCopiesKeepsItsGradientsFinite() throws Exception {
        int runs = Integer.getInteger("deadwatch.probeRuns", 10);
        List<String> failures = new ArrayList<>();
        for (int run = 0; run < runs; run++) {
            String where = run();
            System.err.printf(Locale.ROOT, "probe run %d: %s%n", run, where.isEmpty() ? "finite" : where);
            if (!where.isEmpty()) {
                failures.add("run " + run + ": " + where);
            }
        }
        assertThat(failures).as("runs whose gradients or parameters went non-finite").isEmpty();
    }

    /** @return where the first non-finite value showed, or empty when the run stayed finite */
    private static String run() throws Exception {
        MiniEncoder.Size s = PauseMemoryBench.MINILM;
        String[] first = {""};
        int[] step = {0};
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(PauseMemoryBench.INTERVAL)
                        .optOrderEvery(Integer.MAX_VALUE).optBudget(1.0).optProbeSize(PauseMemoryBench.BATCH)
                        .optWaitForReads(true).optReadOnCopies(true).build();
                NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("probe")) {
            ArrayDataset data = MiniEncoder.data(m, s, PauseMemoryBench.BATCH * 8, PauseMemoryBench.BATCH, 2);
            model.setBlock(MiniEncoder.build(s));
            DefaultTrainingConfig cfg = PauseMemoryBench.config();
            cfg.addTrainingListeners(probe(model, "gradients before the monitor's callback", first, step), monitor,
                    probe(model, "gradients after the monitor's callback", first, step));
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(s.inputShape(PauseMemoryBench.BATCH));
                while (step[0] < STEPS && first[0].isEmpty()) {
                    for (Batch batch : t.iterateDataset(data)) {
                        try (batch) {
                            EasyTrain.trainBatch(t, batch);
                            t.step();
                        }
                        List<String> bad = NonFinite.of(model.getBlock(), false);
                        if (first[0].isEmpty() && !bad.isEmpty()) {
                            first[0] = "step " + step[0] + ", parameters after the update: " + bad;
                        }
                        if (++step[0] >= STEPS || !first[0].isEmpty()) {
                            break;
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
            }
        }
        return first[0];
    }

    private static TrainingListenerAdapter probe(Model model, String what, String[] first, int[] step) {
        return new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                List<String> bad = NonFinite.of(model.getBlock(), true);
                if (first[0].isEmpty() && !bad.isEmpty()) {
                    first[0] = "step " + step[0] + ", " + what + ": " + bad;
                }
            }
        };
    }
}
