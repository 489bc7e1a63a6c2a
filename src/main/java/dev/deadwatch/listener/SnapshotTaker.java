package dev.deadwatch.listener;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.listener.TrainingListener.BatchData;
import ai.djl.training.loss.Loss;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;
import ai.djl.util.Pair;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the training thread does for a snapshot: keeps the probe batch (captured once, from the
 * settings or the first training batch), checks the parameters are finite, copies them for the
 * replica, and binds the model or the replica to the probe. Owns the native memory of all of it
 * under one manager, freed by {@link #close()}.
 */
final class SnapshotTaker implements AutoCloseable {

    private final MonitorSettings settings;
    private final Block block;
    private final NDManager manager;
    private final OutputMetric metric;
    private ProbeBatch probe;
    private ModelProbe modelProbe;
    private Replica replica;
    private ModelProbe replicaProbe;

    /**
     * @param settings the monitor's settings
     * @param block the model's block
     * @param loss the trainer's loss (chooses the output metric when the settings do not)
     */
    SnapshotTaker(MonitorSettings settings, Block block, Loss loss) {
        this.settings = settings;
        this.block = block;
        this.metric = settings.outputMetric() != null ? settings.outputMetric()
                : loss instanceof SoftmaxCrossEntropyLoss ? OutputMetric.SOFTMAX : OutputMetric.IDENTITY;
        this.manager = NDManager.newBaseManager();
        manager.setName("deadwatch");
    }

    /** @return whether the probe batch is known */
    boolean hasProbe() {
        return probe != null;
    }

    /** @return the probe batch (after {@link #observe}) */
    ProbeBatch probe() {
        return probe;
    }

    /**
     * Captures the probe batch from the first batch seen, unless the settings give one.
     *
     * @param data a training batch
     */
    void observe(BatchData data) {
        if (probe != null) {
            return;
        }
        if (settings.probeInputs() != null) {
            probe = ProbeBatch.copyOf(manager, settings.probeInputs(),
                    settings.probeLabels() == null ? new NDList() : settings.probeLabels());
            return;
        }
        NDList in = data.getBatch().getData();
        NDList labels = data.getBatch().getLabels();
        long n = Math.min(settings.probeSize(), in.head().getShape().get(0));
        probe = ProbeBatch.copyOf(manager, slice(in, n), labels == null ? new NDList() : slice(labels, n));
    }

    private static NDList slice(NDList list, long n) {
        NDList out = new NDList();
        for (NDArray a : list) {
            out.add(a.get("0:" + n));
        }
        return out;
    }

    /** @return whether every parameter of the model is finite (one reduction per tensor) */
    boolean modelFinite() {
        try (NDManager s = manager.newSubManager()) {
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray sum = p.getValue().getArray().sum();
                sum.attach(s);
                if (!Double.isFinite(ParameterState.toDoubles(sum)[0])) {
                    return false;
                }
            }
        }
        return true;
    }

    /** @return the model itself on the probe batch, read in float32 */
    ModelProbe onModel() {
        if (modelProbe == null) {
            modelProbe = new ModelProbe(block, probe, Precision.FLOAT32, metric);
        }
        return modelProbe;
    }

    /**
     * Copies every parameter to float64 for the replica, building the replica the first time.
     *
     * @return the copies in {@code block.getParameters()} order, or empty when one is not finite
     */
    Optional<List<double[]>> copyParameters() {
        List<double[]> values = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            double[] v = ParameterState.toDoubles(p.getValue().getArray());
            for (double x : v) {
                if (!Double.isFinite(x)) {
                    return Optional.empty();
                }
            }
            values.add(v);
        }
        if (replica == null) { // built here: it reads the model's parameters once
            replica = Replica.float64(settings.blockFactory(), block, manager, probe.inputs().getShapes());
            replicaProbe = new ModelProbe(replica.block(), probe, Precision.FLOAT64, metric);
        }
        return Optional.of(values);
    }

    /**
     * Loads copied parameters into the replica (on the read worker).
     *
     * @param values from {@link #copyParameters()}
     * @return the replica on the probe batch, read in float64
     */
    ModelProbe onReplica(List<double[]> values) {
        replica.load(values);
        return replicaProbe;
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {modelProbe, replicaProbe, replica, probe}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // freeing native memory: the manager below frees the rest
                }
            }
        }
        manager.close();
    }
}
