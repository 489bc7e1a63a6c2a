package dev.deadwatch.examples;

import static dev.deadwatch.examples.PauseMemoryBench.BATCH;
import static dev.deadwatch.examples.PauseMemoryBench.MINILM;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsRead;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What spreading one capture over steps would do to the counts: the probe's samples split into
 * {@code k} groups, group {@code j} captured after {@code j} more training steps (as a capture
 * spread over {@code k} steps would record them), and each layer's activation DDS count of the
 * joined rows compared with the counts of the whole probe at each of those steps. The control
 * joins the same groups with no step between them: it must equal the whole probe's count in every
 * layer (the forward is per sample), so any difference is the weights'.
 */
final class SpreadCaptureBench {

    /** Training steps before the spread capture. */
    static final int WARM_STEPS = 20;
    /** The engine's random seed before the model is built: every row of the table reads the same model. */
    static final int SEED = 5;

    /**
     * One measurement.
     *
     * @param layers leaf layers read
     * @param deadAtFirst the activation DDS counts summed over layers, whole probe, first step
     * @param moving layers whose whole-probe count differs between the {@code k} steps
     * @param outside layers whose joined count is outside the range of their whole-probe counts
     * @param maxOff the largest distance of a joined count from that range
     */
    record Result(int layers, int deadAtFirst, int moving, int outside, int maxOff) {}

    private SpreadCaptureBench() {}

    /** Appends the table: the MiniLM-size encoder over 2 and 4 steps with its control, and the small one. */
    static void write(StringBuilder md) throws Exception {
        md.append(String.format(Locale.ROOT, "%n| model | the probe's capture spread over | layers | their activation"
                + " dead directions, whole probe (first step) | layers whose count moves over those steps | layers"
                + " whose spread count is outside the steps' counts | farthest outside |%n|---|---|---|---|---|---|---|%n"));
        for (Object[] run : new Object[][] {{MINILM, 2, true}, {MINILM, 4, true}, {MINILM, 4, false},
                {MiniEncoder.Size.SMALL, 4, true}}) {
            MiniEncoder.Size s = (MiniEncoder.Size) run[0];
            int k = (int) run[1];
            boolean step = (boolean) run[2];
            Result r = measure(s, k, step);
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %d | **%d** | %d |%n", PauseMemoryBench.name(s),
                    step ? k + " steps" : k + " groups, no step between (control)", r.layers(), r.deadAtFirst(),
                    r.moving(), r.outside(), r.maxOff()));
        }
    }

    /**
     * @param s the encoder, built after seeding the engine with {@link #SEED} and trained
     *     {@link #WARM_STEPS} steps first (Adam, learning rate 3e-4)
     * @param k groups of the probe's samples (must divide the probe's {@link PauseMemoryBench#BATCH})
     * @param stepBetween whether a training step runs between groups (false: the control)
     * @return the comparison
     */
    static Result measure(MiniEncoder.Size s, int k, boolean stepBetween) throws Exception {
        if (k < 1 || BATCH % k != 0) {
            throw new IllegalArgumentException("k must divide " + BATCH + ", got " + k);
        }
        DdsRead dds = new DdsRead();
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("spread")) {
            m.getEngine().setRandomSeed(SEED);
            ArrayDataset data = MiniEncoder.data(m, s, BATCH * 8, BATCH, 2);
            model.setBlock(MiniEncoder.build(s));
            try (Trainer t = model.newTrainer(PauseMemoryBench.config())) {
                t.initialize(s.inputShape(BATCH));
                ProbeBatch first = null;
                for (Batch b : t.iterateDataset(data)) {
                    try (b) {
                        first = ProbeBatch.copyOf(m, b.getData(), b.getLabels());
                    }
                    break;
                }
                TrainingLoop.steps(t, data, WARM_STEPS);
                try (ProbeBatch probe = first; ModelProbe mp = new ModelProbe(t.getModel().getBlock(), probe, Precision.FLOAT32,
                        OutputMetric.SOFTMAX); NDManager keep = m.newSubManager()) {
                    List<String> layers = ReadSuite.tappedLayers(mp.paths());
                    Set<String> all = new LinkedHashSet<>(layers);
                    int per = mp.samples() / k;
                    List<Map<String, Integer>> whole = new ArrayList<>();
                    Map<String, List<NDArray>> groups = new LinkedHashMap<>();
                    for (int j = 0; j < k; j++) {
                        mp.refresh();
                        try (ModelProbe.Capture c = mp.capture(all, Set.of(), Set.of(), false)) {
                            Map<String, Integer> counts = new LinkedHashMap<>();
                            for (String l : layers) {
                                List<NDArray> calls = c.session().outputs().get(l);
                                if (calls != null && calls.size() == 1) {
                                    counts.put(l, dds.activation(l, calls, 0, m).total());
                                }
                            }
                            whole.add(counts);
                        }
                        try (ModelProbe.Capture c = mp.capture(all, Set.of(), Set.of(), false, j * per, (j + 1) * per)) {
                            for (String l : whole.get(0).keySet()) {
                                NDArray copy = c.session().outputs().get(l).get(0).duplicate();
                                copy.attach(keep);
                                groups.computeIfAbsent(l, x -> new ArrayList<>()).add(copy);
                            }
                        }
                        if (stepBetween && j < k - 1) {
                            TrainingLoop.steps(t, data, 1);
                        }
                    }
                    int dead = 0;
                    int moving = 0;
                    int outside = 0;
                    int maxOff = 0;
                    for (String l : whole.get(0).keySet()) {
                        int joined = dds.activation(l, groups.get(l), 0, m).total();
                        int lo = Integer.MAX_VALUE;
                        int hi = Integer.MIN_VALUE;
                        for (Map<String, Integer> w : whole) {
                            lo = Math.min(lo, w.get(l));
                            hi = Math.max(hi, w.get(l));
                        }
                        dead += Math.max(0, whole.get(0).get(l));
                        moving += lo != hi ? 1 : 0;
                        int off = joined < lo ? lo - joined : joined > hi ? joined - hi : 0;
                        outside += off > 0 ? 1 : 0;
                        maxOff = Math.max(maxOff, off);
                    }
                    return new Result(whole.get(0).size(), dead, moving, outside, maxOff);
                }
            }
        }
    }
}
