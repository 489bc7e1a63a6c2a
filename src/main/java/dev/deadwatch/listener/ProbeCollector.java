package dev.deadwatch.listener;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.listener.TrainingListener.BatchData;
import ai.djl.util.Pair;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ProbeBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The probe batch of a run: given in the settings, or collected from the first training batches
 * until it has {@link #probeTarget} samples. Its arrays live under the manager it is given.
 */
final class ProbeCollector implements AutoCloseable {

    /** The fewest samples an automatic probe has. */
    static final int MIN_PROBE = 64;
    /** An automatic probe has this many rows per feature of the widest dense layer. */
    static final int ROWS_PER_FEATURE = 2;

    private final MonitorSettings settings;
    private final Block block;
    private final NDManager manager;
    private ProbeBatch probe;
    /** Samples still being collected for the probe, and how many it needs. */
    private NDManager pending;
    private final List<NDList> pendingInputs = new ArrayList<>();
    private final List<NDList> pendingLabels = new ArrayList<>();
    private long pendingSamples;
    private long target;

    /**
     * @param settings the monitor's settings
     * @param block the model's block
     * @param manager owns the probe
     */
    ProbeCollector(MonitorSettings settings, Block block, NDManager manager) {
        this.settings = settings;
        this.block = block;
        this.manager = manager;
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
     * Collects the probe from the training batches until it has {@link #probeTarget} samples,
     * unless the settings give one. A probe that cannot be made (a given probe of one sample, a
     * batch without a sample axis) fails only the steps a snapshot is due at: the monitor counts
     * {@code error} once per snapshot, not once per training step, and logs it once.
     *
     * @param data a training batch
     * @param snapshotStep whether a snapshot is due at this step
     * @return whether the probe is known
     * @throws RuntimeException why the probe cannot be made, at a snapshot step only
     */
    boolean observe(BatchData data, boolean snapshotStep) {
        if (probe != null) {
            return true;
        }
        try {
            collect(data);
        } catch (RuntimeException e) {
            if (snapshotStep) {
                throw e;
            }
        }
        return probe != null;
    }

    private void collect(BatchData data) {
        if (settings.probeInputs() != null) {
            probe = ProbeBatch.copyOf(manager, settings.probeInputs(),
                    settings.probeLabels() == null ? new NDList() : settings.probeLabels());
            return;
        }
        if (pending == null) {
            pending = manager.newSubManager();
            target = probeTarget();
        }
        NDList in = data.getBatch().getData();
        NDList labels = data.getBatch().getLabels();
        long n = Math.min(target - pendingSamples, in.head().getShape().get(0));
        NDList inCopy = copy(in, n);
        NDList labelCopy = labels == null ? new NDList() : copy(labels, n);
        pendingInputs.add(inCopy); // both or neither: a batch that fails halfway adds nothing
        pendingLabels.add(labelCopy);
        pendingSamples += n;
        if (pendingSamples >= target) {
            completeProbe();
        }
    }

    /**
     * Makes the probe of the samples collected so far (at training end, when training was shorter
     * than the probe's collection); no probe with fewer than 2.
     */
    void completeProbe() {
        if (probe != null || pending == null || pendingSamples < 2) {
            return;
        }
        probe = ProbeBatch.copyOf(manager, concat(pendingInputs), concat(pendingLabels));
        pendingInputs.clear();
        pendingLabels.clear();
        pending.close();
        pending = null;
    }

    /**
     * The probe's size: the settings' {@code probeSize}, or, when it is automatic (0), twice the
     * width of the widest dense layer (Linear input or output, LayerNorm), at least
     * {@link #MIN_PROBE} and at most {@code maxRows}, so that the activation reads resolve every
     * dense layer. Convolution layers have a row per position and need far fewer samples.
     *
     * @return samples
     */
    long probeTarget() {
        if (settings.probeSize() > 0) {
            return settings.probeSize();
        }
        long widest = 0;
        for (Block b : BlockPaths.of(block).byPath().values()) {
            if (b instanceof Linear || b instanceof LayerNorm) {
                for (Pair<String, Parameter> p : b.getDirectParameters()) {
                    if (p.getValue().isInitialized()) {
                        for (long d : p.getValue().getArray().getShape().getShape()) {
                            widest = Math.max(widest, d);
                        }
                    }
                }
            }
        }
        return Math.max(MIN_PROBE, Math.min(settings.maxRows(), ROWS_PER_FEATURE * widest));
    }

    private NDList copy(NDList list, long n) {
        NDList out = new NDList();
        for (NDArray a : list) {
            NDArray c = a.get("0:" + n).duplicate();
            c.attach(pending);
            out.add(c);
        }
        return out;
    }

    private NDList concat(List<NDList> parts) {
        NDList out = new NDList();
        if (parts.isEmpty() || parts.get(0).isEmpty()) {
            return out;
        }
        for (int i = 0; i < parts.get(0).size(); i++) {
            NDList column = new NDList();
            for (NDList p : parts) {
                column.add(p.get(i));
            }
            NDArray c = column.size() == 1 ? column.head() : NDArrays.concat(column, 0);
            c.attach(pending);
            out.add(c);
        }
        return out;
    }

    @Override
    public void close() {
        if (probe != null) {
            probe.close();
        }
        if (pending != null) {
            pending.close();
        }
    }
}
