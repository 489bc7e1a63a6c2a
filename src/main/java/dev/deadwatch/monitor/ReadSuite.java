package dev.deadwatch.monitor;

import ai.djl.nn.core.Linear;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.reads.BatchNormRead;
import dev.deadwatch.reads.DdsRead;
import dev.deadwatch.reads.FisherGramRead;
import dev.deadwatch.reads.LayerNormRead;
import dev.deadwatch.reads.Read;
import dev.deadwatch.reads.ReadContext;
import dev.deadwatch.reads.SplitRead;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * Runs the reads of one snapshot, in order, on a model bound to its probe batch, and times
 * each. The built-in suite ({@link #defaults}) is the Fisher side, the LayerNorm read, the DDS
 * read and the order read with its census; any {@link Read} can be added.
 */
public final class ReadSuite {

    private final List<Read> reads;
    private final ReadObserver observer;
    private final Map<String, Integer> featureAxes;
    private final long activationGroupBytes;

    /**
     * What the live monitor lets a read's activations hold at once on a snapshot read off the
     * training thread ({@link #withActivationGroups}). On the MiniLM-size encoder in float64 on the
     * replica (16 × 64 tokens) one recording of every layer holds about 340 MB: in groups of this
     * size (four) the DDS read's part of a read peaked 290 MB lower (240 MB above what the read
     * started with, against 530), below the Fisher side's capture, for about 1 s more of the whole
     * read (8.1 s against 7.0 s on a quiet machine: a forward pass per group, and one for the
     * LayerNorm read's norms).
     */
    public static final long LIVE_ACTIVATION_GROUP_BYTES = 96L << 20;

    /**
     * Told the name of each read just before it starts, on the thread that runs it: for tracing
     * and profiling. An exception it throws fails that read as any read failure would.
     */
    @FunctionalInterface
    public interface ReadObserver {
        /** An observer that does nothing. */
        ReadObserver NONE = read -> { };

        /**
         * @param read the read about to start
         * @throws Exception to fail the read
         */
        void beforeRead(String read) throws Exception;

        /**
         * Told before the rest of a {@linkplain SplitRead split read} (the part without the model:
         * its matrices and their eigendecompositions) starts, on the thread that runs it: the
         * training thread's or the worker's, after {@link #beforeRead} told of its capture.
         *
         * @param read the read whose rest is about to start
         * @throws Exception to fail the read
         */
        default void beforeRest(String read) throws Exception {
        }
    }

    /**
     * @param reads the reads, run in this order; names must be distinct
     * @param observer told of each read before it starts
     */
    public ReadSuite(List<Read> reads, ReadObserver observer) {
        this(reads, observer, Map.of());
    }

    /**
     * @param reads the reads, run in this order; names must be distinct
     * @param observer told of each read before it starts
     * @param featureAxes layer → feature axis, for layers whose layout {@link dev.deadwatch.capture.FeatureAxes}
     *     gets wrong
     */
    public ReadSuite(List<Read> reads, ReadObserver observer, Map<String, Integer> featureAxes) {
        this(reads, observer, featureAxes, ReadContext.ONE_RECORDING);
    }

    private ReadSuite(List<Read> reads, ReadObserver observer, Map<String, Integer> featureAxes,
            long activationGroupBytes) {
        this.activationGroupBytes = activationGroupBytes;
        this.featureAxes = Map.copyOf(featureAxes);
        this.reads = List.copyOf(reads);
        this.observer = Objects.requireNonNull(observer, "observer");
        Set<String> names = new HashSet<>();
        for (Read r : this.reads) {
            if (!names.add(r.name())) {
                throw new IllegalArgumentException("two reads are named '" + r.name() + "'");
            }
        }
    }

    /**
     * This suite with the activations a read holds at once bounded where its reads run whole
     * ({@link #read}; {@link #capture} keeps what the rests need, as it must):
     * {@link ReadContext#activationGroupBytes}.
     *
     * @param bytes recorded bytes a group of layers holds at most, or {@link ReadContext#ONE_RECORDING}
     * @return the suite so bounded
     */
    public ReadSuite withActivationGroups(long bytes) {
        if (bytes < 1) {
            throw new IllegalArgumentException("activation group bytes must be >= 1, got " + bytes);
        }
        return new ReadSuite(reads, observer, featureAxes, bytes);
    }

    /**
     * The built-in reads: the Fisher side (when {@code fisher}), the LayerNorm read, the
     * BatchNorm read, the DDS read and the order read with its census.
     *
     * @param maxRows row cap of the activation matrices
     * @param detectors detectors supplying order-read candidates
     * @param seed seed of the order read's reference directions
     * @param fisher whether to read the Fisher side of Linear layers
     * @return the reads, in the order they run
     */
    public static List<Read> defaults(int maxRows, List<Detector> detectors, long seed, boolean fisher) {
        return defaults(maxRows, detectors, seed, fisher, CensusRead.DEFAULT_MAX_PER_LAYER, CensusRead.DEFAULT_MAX_TOTAL);
    }

    /**
     * The built-in reads with a cap on the order read's candidates per layer.
     *
     * @param maxRows row cap of the activation matrices
     * @param detectors detectors supplying order-read candidates
     * @param seed seed of the order read's reference directions and candidate sample
     * @param fisher whether to read the Fisher side of Linear layers
     * @param candidatesPerLayer order-read candidates read per layer at most
     * @param candidates order-read candidates read per snapshot at most
     * @return the reads, in the order they run
     */
    public static List<Read> defaults(int maxRows, List<Detector> detectors, long seed, boolean fisher,
            int candidatesPerLayer, int candidates) {
        return defaults(maxRows, detectors, seed, fisher, candidatesPerLayer, candidates, CensusRead.DEFAULT_SECONDS);
    }

    /**
     * The built-in reads with caps on the order read's candidates and time.
     *
     * @param maxRows row cap of the activation matrices
     * @param detectors detectors supplying order-read candidates
     * @param seed seed of the order read's reference directions and candidate sample
     * @param fisher whether to read the Fisher side of Linear layers
     * @param candidatesPerLayer order-read candidates read per layer at most
     * @param candidates order-read candidates read per snapshot at most
     * @param orderSeconds time an order read may take ({@link CensusRead}; infinite: no limit)
     * @return the reads, in the order they run
     */
    public static List<Read> defaults(int maxRows, List<Detector> detectors, long seed, boolean fisher,
            int candidatesPerLayer, int candidates, double orderSeconds) {
        DdsRead dds = new DdsRead(maxRows, Spectrum.DEFAULT_FLOOR, Spectrum.EPS_DEAD);
        List<Read> out = new ArrayList<>();
        if (fisher) { // first: its forward and backward pass run before the activations are recorded
            out.add(new FisherGramRead(dds));
        }
        out.add(new LayerNormRead(maxRows, Spectrum.EPS_DEAD));
        out.add(new BatchNormRead());
        out.add(dds);
        out.add(new CensusRead(detectors, seed, candidatesPerLayer, candidates, orderSeconds));
        return out;
    }

    /** @return the reads' names, in the order they run */
    public List<String> names() {
        return reads.stream().map(Read::name).toList();
    }

    /**
     * The layers the activation side reads: every leaf block (no children) of the model.
     *
     * @param paths the model's paths
     * @return leaf paths in forward (pre-)order
     */
    public static List<String> tappedLayers(BlockPaths paths) {
        List<String> out = new ArrayList<>();
        paths.byPath().forEach((p, b) -> {
            if (!p.isEmpty() && b.getChildren().isEmpty()) {
                out.add(p);
            }
        });
        return out;
    }

    /**
     * The Linear layers of the Fisher side.
     *
     * @param paths the model's paths
     * @return Linear paths
     */
    public static List<String> fisherLayers(BlockPaths paths) {
        return paths.pathsOf(Linear.class);
    }

    /**
     * Reads one snapshot with every read due and no budget.
     *
     * @param probe the model on the probe batch
     * @param step training step
     * @param loss the training loss, or {@code null} (the Fisher side then does not apply)
     * @return the report
     */
    public ReadReport read(ModelProbe probe, long step, Loss loss) {
        return read(probe, step, loss, read -> true, nanos -> true);
    }

    /**
     * Reads one snapshot.
     *
     * @param probe the model on the probe batch
     * @param step training step
     * @param loss the training loss, or {@code null} (the Fisher side then does not apply)
     * @param due whether a read (by name) is due this time (the order read runs every few snapshots)
     * @param fits given the nanoseconds a read still needs, whether the budget allows them
     * @return the report
     */
    public ReadReport read(ModelProbe probe, long step, Loss loss, Predicate<String> due, LongPredicate fits) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        int lastWithActivations = lastWithActivations(reads.size());
        try (ReadContext ctx = new ReadContext(probe, step, loss, tappedLayers(probe.paths()), featureAxes,
                due, fits).activationGroupBytes(activationGroupBytes)) {
            for (int i = 0; i < reads.size(); i++) {
                Read read = reads.get(i);
                if (read.appliesTo(ctx)) {
                    before(read.name());
                    long t0 = System.nanoTime();
                    if (read instanceof SplitRead split) {
                        SplitRead.Rest rest = split.capture(ctx);
                        rest(read.name());
                        rest.finish(ctx);
                    } else {
                        read.read(ctx);
                    }
                    seconds.put(read.name(), (System.nanoTime() - t0) / 1e9);
                }
                if (i == lastWithActivations) {
                    ctx.releaseActivations(); // the reads after run forward passes of their own
                }
            }
            return new ReadReport(step, ctx.results(), ctx.abandoned(), seconds);
        }
    }

    /**
     * The part of a snapshot's reads that needs the model, on the calling thread: the capture of
     * every {@linkplain SplitRead split read} (forward and backward passes, parameter values) and
     * every other read whole (the order read, added reads). The rest, {@link PendingReads#finish()},
     * needs only what was captured and may run on another thread while the model trains on; the
     * report it makes is the one {@link #read} makes.
     *
     * @param probe the model on the probe batch
     * @param step training step
     * @param loss the training loss, or {@code null}
     * @param due whether a read (by name) is due this time
     * @param fits given the nanoseconds a read still needs, whether the budget allows them
     * @return the rest, to finish or close
     */
    public PendingReads capture(ModelProbe probe, long step, Loss loss, Predicate<String> due, LongPredicate fits) {
        ReadContext ctx = new ReadContext(probe, step, loss, tappedLayers(probe.paths()), featureAxes, due, fits)
                .deferRests();
        try {
            PendingReads.Builder pending = new PendingReads.Builder(step, this::rest);
            for (Read read : reads) {
                if (!read.appliesTo(ctx)) {
                    continue;
                }
                before(read.name());
                long t0 = System.nanoTime();
                int from = ctx.results().size();
                SplitRead.Rest rest = null;
                if (read instanceof SplitRead split) {
                    rest = split.capture(ctx);
                } else {
                    read.read(ctx);
                }
                pending.add(read.name(), read.needsActivations(), rest, ctx.results().subList(from, ctx.results().size()),
                        (System.nanoTime() - t0) / 1e9);
            }
            return pending.build(ctx.detach(), ctx.abandoned());
        } finally {
            ctx.close(); // what was captured went with the detached context
        }
    }

    private int lastWithActivations(int count) {
        int last = -1;
        for (int i = 0; i < count; i++) {
            if (reads.get(i).needsActivations()) {
                last = i;
            }
        }
        return last;
    }

    private void rest(String read) {
        try {
            observer.beforeRest(read);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("read observer failed before the rest of " + read, e);
        }
    }

    private void before(String read) {
        try {
            observer.beforeRead(read);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("read observer failed before " + read, e);
        }
    }
}
