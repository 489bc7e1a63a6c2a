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
 * What the training thread does for a snapshot: keeps the probe batch ({@link ProbeCollector}), checks the
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
    private final ProbeCollector probes;
    /** The copies of past snapshots, refilled for the next ones. */
    private final CopyPool pool;
    private ModelProbe modelProbe;
    private Replica replica;
    private ModelProbe replicaProbe;
    private boolean precisionPublished;
    /** Without a replica, whether the reads run on copies; decided at the first snapshot. */
    private Boolean onCopies;

    /** {@code deadwatch_info}'s precision when some blocks of the float64 replica run in float32. */
    static final String MIXED = "mixed";

    /** Blocks of a float64 replica that may run in float32 before the whole replica is float32. */
    static final int MAX_FLOAT32_BLOCKS = 8;

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
        this.probes = new ProbeCollector(settings, block, manager);
        this.pool = new CopyPool(manager);
    }

    /** @return whether the probe batch is known */
    boolean hasProbe() {
        return probes.hasProbe();
    }

    /** @return the probe batch (after {@link #observe}) */
    ProbeBatch probe() {
        return probes.probe();
    }

    /** {@link ProbeCollector#observe}. */
    boolean observe(BatchData data, boolean snapshotStep) {
        return probes.observe(data, snapshotStep);
    }

    /** {@link ProbeCollector#completeProbe}. */
    void completeProbe() {
        probes.completeProbe();
    }

    /** @return the first parameter of the model that is not finite (one reduction per tensor), if any */
    Optional<String> firstNonFinite() {
        var params = block.getParameters();
        int at = firstNonFinite(params.values().stream().map(Parameter::getArray).toList());
        return at < 0 ? Optional.empty() : Optional.of(params.get(at).getKey());
    }

    /**
     * On the worker: whether a snapshot's copies are finite, checked there rather than on the
     * training thread before they are made.
     *
     * @param staged from {@link #copyParameters()}, {@linkplain #discard given back} when one is not finite
     * @return the model's parameter whose copy is first not finite, if any
     */
    Optional<String> nonFiniteCopy(StagedParameters staged) {
        int at = firstNonFinite(staged.arrays());
        if (at < 0) {
            return Optional.empty();
        }
        discard(staged);
        return Optional.of(block.getParameters().keys().get(at));
    }

    /** @return the index of the first array with a value that is not finite, -1 if none */
    private int firstNonFinite(List<NDArray> arrays) {
        try (NDManager s = manager.newSubManager()) {
            for (int i = 0; i < arrays.size(); i++) {
                NDArray a = arrays.get(i);
                if (ParameterState.isNarrowFloat(a.getDataType())) {
                    a = a.toType(DataType.FLOAT32, false); // a float16 sum overflows past 65504
                    a.attach(s);
                }
                NDArray sum = a.sum();
                sum.attach(s);
                if (!Double.isFinite(ParameterState.toDoubles(sum)[0])) {
                    return i;
                }
            }
        }
        return -1;
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
        ModelProbe mp = new ModelProbe(block, probe(), Precision.FLOAT32, metric);
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
     * Whether the reads without a replica run on the worker on a snapshot's copies of the
     * parameters: the settings ask for it and every initialized parameter of the model is taken
     * from DJL's parameter store in a forward pass (one forward of the probe, at the first
     * snapshot). A model with a block that reads a parameter otherwise is read on the model
     * between steps instead, said once naming the parameters.
     *
     * @return whether to read on copies
     */
    boolean readsOnCopies() {
        if (onCopies == null) {
            List<String> outside = settings.copies() ? onModel().parametersOutsideStore() : List.of();
            onCopies = settings.copies() && outside.isEmpty();
            if (!outside.isEmpty()) {
                LOG.warn("deadwatch: the model's forward pass does not take parameter(s) {} from DJL's parameter"
                        + " store, so reads cannot run on copies of them: they run on the model between steps,"
                        + " pausing training for the capture", outside);
            }
        }
        return onCopies;
    }

    /**
     * Binds a snapshot's copies (from {@link #copyParameters()}) to the model's probe, on the read
     * worker; {@link #release} undoes it.
     *
     * @param staged the copies (kept for a later snapshot if they cannot be bound)
     * @return the model on the probe batch, read in float32 on the copies
     */
    ModelProbe onCopies(StagedParameters staged) {
        try {
            modelProbe.bind(staged.arrays());
        } catch (RuntimeException e) {
            pool.giveBack(staged); // nothing is bound: the caller releases nothing
            throw e;
        }
        return modelProbe;
    }

    /**
     * Unbinds the copies from the model's probe and keeps them for a later snapshot.
     *
     * @param staged what {@link #onCopies} bound
     */
    void release(StagedParameters staged) {
        try {
            modelProbe.unbind();
        } finally {
            pool.giveBack(staged);
        }
    }

    /**
     * Keeps copies no read will use (a snapshot not handed to the worker) for a later snapshot.
     *
     * @param staged from {@link #copyParameters()}
     */
    void discard(StagedParameters staged) {
        pool.giveBack(staged);
    }

    /**
     * Copies every parameter for the replica or the reads on copies, in the model's own type and
     * in native memory (one copy of the model's parameters, freed as soon as the worker has loaded
     * them into the replica or read them), building the replica the first time. Whether they are
     * finite is for the worker to check ({@link #nonFiniteCopy}).
     *
     * @return the copies in {@code block.getParameters()} order
     */
    StagedParameters copyParameters() {
        StagedParameters staged = pool.copy(block);
        if (replica == null && settings.replica()) { // built here: it reads the model's parameters once
            try {
                buildReplica();
            } catch (RuntimeException e) {
                staged.close();
                throw e;
            }
        }
        return staged;
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
            replica = Replica.of(Precision.FLOAT64, settings.blockFactory(), block, manager, probe().inputs().getShapes());
            replicaProbe = new ModelProbe(replica.block(), probe(), Precision.FLOAT64, metric);
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
        replica = Replica.of(Precision.FLOAT32, settings.blockFactory(), block, manager, probe().inputs().getShapes());
        replicaProbe = new ModelProbe(replica.block(), probe(), Precision.FLOAT32, metric);
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
        try {
            replica.loadArrays(staged.arrays());
        } finally {
            pool.free(staged); // the replica holds the values: a read holds no copy beside it
        }
        return replicaProbe;
    }

    /**
     * Whether a snapshot can be copied without the training thread making a fresh set of copies.
     * On copies, once a set exists, only while a spare one is kept: otherwise every set is still
     * read or waiting, and the worker has not yet made the next before its read (under a budget it
     * runs on CPU time training leaves, and may not have had any). Such a snapshot is dropped as
     * {@code busy} rather than costing the training thread a fresh set's page faults (0.03–0.05 s
     * for 90 MB), and never more than two sets exist. Elsewhere always.
     *
     * @return whether there is room
     */
    boolean roomForCopies() {
        return !Boolean.TRUE.equals(onCopies) || !pool.madeAny() || pool.spares() > 0;
    }

    /**
     * On the worker before a read when no other snapshot waits: on copies, makes the spare set the
     * next snapshot is copied into while this one is read ({@link CopyPool#prefill}), its memory
     * faulted in here rather than on the training thread. Two sets at most, as when that snapshot
     * made it; the replica path holds no spare beside a read.
     */
    void beforeRead() {
        if (Boolean.TRUE.equals(onCopies)) {
            pool.prefill();
        }
    }

    /**
     * On the worker when it is idle: on the replica path, makes the spare copies the next snapshot
     * is copied into ({@link CopyPool#prefill}), their memory faulted in here, not on the training
     * thread; without a replica the copies a read gave back are kept already.
     */
    void whenIdle() {
        if (settings.replica()) {
            pool.prefill();
        }
    }

    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {modelProbe, replicaProbe, replica, probes, pool}) {
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
