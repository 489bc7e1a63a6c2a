package dev.deadwatch.listener;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ForwardTaps;
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
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.monitor.ReadSuite;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the training thread does for a snapshot: keeps the probe batch (from the settings, or
 * collected from the first training batches until it has {@link #probeTarget} samples), checks the
 * parameters are finite, copies them for the replica, and binds the model or the replica to the
 * probe. The replica is float64 where the model can run in float64, else float32 (logged once).
 * Owns the native memory of all of it under one manager, freed by {@link #close()}.
 */
final class SnapshotTaker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);

    private final MonitorSettings settings;
    private final Block block;
    private final NDManager manager;
    private final OutputMetric metric;
    private ProbeBatch probe;
    private ModelProbe modelProbe;
    private Replica replica;
    private ModelProbe replicaProbe;
    private boolean precisionPublished;
    /** Samples still being collected for the probe, and how many it needs. */
    private NDManager pending;
    private final List<NDList> pendingInputs = new ArrayList<>();
    private final List<NDList> pendingLabels = new ArrayList<>();
    private long pendingSamples;
    private long target;

    /** {@code deadwatch_info}'s precision when some blocks of the float64 replica run in float32. */
    static final String MIXED = "mixed";

    /** Blocks of a float64 replica that may run in float32 before the whole replica is float32. */
    static final int MAX_FLOAT32_BLOCKS = 8;

    /** The fewest samples an automatic probe has. */
    static final int MIN_PROBE = 64;
    /** An automatic probe has this many rows per feature of the widest dense layer. */
    static final int ROWS_PER_FEATURE = 2;

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

    /** @return the first parameter of the model that is not finite (one reduction per tensor), if any */
    Optional<String> firstNonFinite() {
        try (NDManager s = manager.newSubManager()) {
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray a = p.getValue().getArray();
                if (ParameterState.isNarrowFloat(a.getDataType())) {
                    a = a.toType(DataType.FLOAT32, false); // a float16 sum overflows past 65504
                    a.attach(s);
                }
                NDArray sum = a.sum();
                sum.attach(s);
                if (!Double.isFinite(ParameterState.toDoubles(sum)[0])) {
                    return Optional.of(p.getKey());
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The model itself on the probe batch, read in float32; a model stored in float16 (or
     * bfloat16) is read on float32 copies of its parameters, refreshed here at each snapshot,
     * and never written (said once in the log).
     *
     * @return the probe for this snapshot
     * @throws IllegalStateException naming the model's type when a half-precision model does not
     *     run on the copies (a block that takes its parameters other than from DJL's parameter store)
     */
    ModelProbe onModel() {
        if (modelProbe != null) {
            modelProbe.refresh();
            return modelProbe;
        }
        ModelProbe mp = new ModelProbe(block, probe, Precision.FLOAT32, metric);
        if (mp.promotedFrom().isPresent()) {
            DataType from = mp.promotedFrom().get();
            try {
                mp.evaluate(); // one forward: a block that reads its own arrays mixes types here
            } catch (RuntimeException e) {
                mp.close();
                throw new IllegalStateException("the model's parameters are " + from + " and it does not run on"
                        + " float32 copies of them (" + e.getMessage() + "); give a block factory to read a float64"
                        + " replica", e);
            }
            LOG.info("deadwatch: the model's parameters are {}: its reads run in float32 on copies of them,"
                    + " the model itself is never written", from);
        }
        modelProbe = mp;
        return modelProbe;
    }

    /**
     * Copies every parameter for the replica, in the model's own type and in native memory (one
     * copy of the model's parameters, freed as soon as the worker has loaded them into the
     * replica), building the replica the first time.
     *
     * @return the copies in {@code block.getParameters()} order, or empty when one is not finite
     *     ({@link #firstNonFinite()} names it)
     */
    Optional<StagedParameters> copyParameters() {
        if (firstNonFinite().isPresent()) {
            return Optional.empty();
        }
        StagedParameters staged = StagedParameters.of(block, manager);
        if (replica == null) { // built here: it reads the model's parameters once
            try {
                buildReplica();
            } catch (RuntimeException e) {
                staged.close();
                throw e;
            }
        }
        return Optional.of(staged);
    }

    /**
     * The float64 replica. A block of it that cannot run in float64 (one that keeps float32
     * parameters, an engine operation that mixes types) runs in float32 inside it: the first
     * forward names the block it failed in, that block is re-made in float32, and the forward is
     * tried again, at most {@link #MAX_FLOAT32_BLOCKS} times. Where that does not help (the root
     * fails, or no block is named), the whole replica is float32. Either is logged once.
     */
    private void buildReplica() {
        try {
            replica = Replica.of(Precision.FLOAT64, settings.blockFactory(), block, manager, probe.inputs().getShapes());
            replicaProbe = new ModelProbe(replica.block(), probe, Precision.FLOAT64, metric);
            BlockPaths paths = BlockPaths.of(replica.block());
            ForwardTaps.install(); // names the block a failing forward was in
            for (int tries = 0; tries <= MAX_FLOAT32_BLOCKS; tries++) {
                ForwardTaps.Failure failure = ForwardTaps.traced(() -> replicaProbe.evaluate());
                if (failure == null) {
                    return;
                }
                String path = failure.block() instanceof Block b ? paths.pathOf(b) : null;
                if (path == null || path.equals(BlockPaths.ROOT) || tries == MAX_FLOAT32_BLOCKS
                        || replica.layerPrecisions().get(path) == Precision.FLOAT32) {
                    throw failure.error();
                }
                LOG.warn("deadwatch: block {} cannot run in float64 ({}); it is read in float32 inside the"
                        + " float64 replica", path, failure.error().toString());
                replica.runInFloat32((Block) failure.block(), block);
            }
        } catch (RuntimeException e) {
            LOG.warn("deadwatch: the model cannot run in float64 ({}); its reads run on a float32 replica", e.toString());
            if (replicaProbe != null) {
                replicaProbe.close();
            }
            if (replica != null) {
                replica.close();
            }
        }
        replica = Replica.of(Precision.FLOAT32, settings.blockFactory(), block, manager, probe.inputs().getShapes());
        replicaProbe = new ModelProbe(replica.block(), probe, Precision.FLOAT32, metric);
    }

    /**
     * Tells the metrics, once, what the reads run in: {@code deadwatch_info}'s precision
     * ({@code mixed} when some blocks of the float64 replica run in float32) and each layer's bits.
     * Without a replica every layer is read on the model in float32.
     *
     * @param metrics the run's metrics
     */
    void publishPrecision(DeadwatchMetrics metrics) {
        if (precisionPublished || (settings.replica() && replica == null)) {
            return;
        }
        precisionPublished = true;
        Block read = replica == null ? block : replica.block();
        Map<String, Precision> of = replica == null ? Map.of() : replica.layerPrecisions();
        Map<String, Integer> bits = new TreeMap<>();
        for (String layer : ReadSuite.tappedLayers(BlockPaths.of(read))) {
            bits.put(layer, of.getOrDefault(layer, Precision.FLOAT32).dataType().getNumOfBytes() * Byte.SIZE);
        }
        boolean mixed = bits.values().stream().distinct().count() > 1;
        boolean all64 = !bits.isEmpty() && bits.values().stream().allMatch(b -> b == Double.SIZE);
        metrics.precision(mixed ? MIXED : all64 ? Precision.FLOAT64.toString() : Precision.FLOAT32.toString());
        metrics.layerPrecisions(bits);
    }

    /** @return the replica's precision, or {@code null} before it is built */
    Precision replicaPrecision() {
        return replica == null ? null : replica.precision();
    }

    /**
     * @return the precision each block of the replica runs in, by path (empty before it is built,
     *     or without a replica: then every read runs on the model in float32)
     */
    Map<String, Precision> layerPrecisions() {
        return replica == null ? Map.of() : replica.layerPrecisions();
    }

    /**
     * Loads copied parameters into the replica (on the read worker), then frees the copies.
     *
     * @param staged from {@link #copyParameters()}
     * @return the replica on the probe batch, read in float64
     */
    ModelProbe onReplica(StagedParameters staged) {
        try (staged) {
            replica.loadArrays(staged.arrays());
        }
        return replicaProbe;
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {modelProbe, replicaProbe, replica, probe, pending}) {
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
