package dev.deadwatch.monitor;

import dev.deadwatch.reads.ReadContext;
import dev.deadwatch.reads.SplitRead;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The reads of one snapshot after {@link ReadSuite#capture}: what the model was needed for is
 * done, and {@link #finish()} runs the rest of each split read on a detached context (the
 * recorded activations and captured arrays, no model), on whichever thread calls it, then makes
 * the report, its results in the order of the reads as {@link ReadSuite#read} gives them. Owns the
 * captured native memory until finished or closed; finishing frees the activations as soon as the
 * last read that uses them is done.
 */
public final class PendingReads implements AutoCloseable {

    /** One read's part of the snapshot. */
    private record Part(String name, boolean activations, SplitRead.Rest rest, List<Object> captured,
            double seconds) {}

    private final long step;
    private final List<Part> parts;
    private final ReadContext detached;
    private final Set<String> abandoned;
    private final Consumer<String> beforeRest;
    private boolean done;

    private PendingReads(long step, List<Part> parts, ReadContext detached, Set<String> abandoned,
            Consumer<String> beforeRest) {
        this.step = step;
        this.parts = parts;
        this.detached = detached;
        this.abandoned = abandoned;
        this.beforeRest = beforeRest;
    }

    /** @return the training step of the snapshot */
    public long step() {
        return step;
    }

    /**
     * @param read a read's name
     * @return seconds its capture (or, for a read that is not split, all of it) took, 0 if it did not run
     */
    public double capturedSeconds(String read) {
        return parts.stream().filter(p -> p.name().equals(read)).mapToDouble(Part::seconds).sum();
    }

    /**
     * @param read a read's name
     * @return whether it ran on this snapshot and was not abandoned while the model was at hand
     *     (a read that is not split is done by then)
     */
    public boolean ran(String read) {
        return !abandoned.contains(read) && parts.stream().anyMatch(p -> p.name().equals(read));
    }

    /** @return whether the rest of some read is still to run */
    public boolean hasRest() {
        return parts.stream().anyMatch(p -> p.rest() != null);
    }

    /**
     * Runs the rest of every split read, in order, then frees what was captured.
     *
     * @return the snapshot's report (a read's seconds are its capture's plus its rest's)
     * @throws IllegalStateException when called twice
     */
    public ReadReport finish() {
        if (done) {
            throw new IllegalStateException("the reads of step " + step + " are finished already");
        }
        done = true;
        try (ReadContext ctx = detached) {
            int lastWithActivations = -1;
            for (int i = 0; i < parts.size(); i++) {
                if (parts.get(i).rest() != null && parts.get(i).activations()) {
                    lastWithActivations = i;
                }
            }
            List<Object> results = new ArrayList<>();
            Map<String, Double> seconds = new LinkedHashMap<>();
            for (int i = 0; i < parts.size(); i++) {
                Part p = parts.get(i);
                results.addAll(p.captured());
                double s = p.seconds();
                if (p.rest() != null) {
                    beforeRest.accept(p.name());
                    long t0 = System.nanoTime();
                    int from = ctx.results().size();
                    p.rest().finish(ctx);
                    results.addAll(ctx.results().subList(from, ctx.results().size()));
                    s += (System.nanoTime() - t0) / 1e9;
                }
                seconds.put(p.name(), s);
                if (i == lastWithActivations) {
                    ctx.releaseActivations();
                }
            }
            Set<String> gaveUp = new LinkedHashSet<>(abandoned);
            gaveUp.addAll(ctx.abandoned());
            return new ReadReport(step, results, gaveUp, seconds);
        }
    }

    /** Frees what was captured without finishing (a snapshot dropped, a worker shut down). */
    @Override
    public void close() {
        done = true;
        detached.close();
    }

    /** Collects the parts on the capturing thread. */
    static final class Builder {
        private final long step;
        private final Consumer<String> beforeRest;
        private final List<Part> parts = new ArrayList<>();

        Builder(long step, Consumer<String> beforeRest) {
            this.step = step;
            this.beforeRest = beforeRest;
        }

        void add(String name, boolean activations, SplitRead.Rest rest, List<Object> captured, double seconds) {
            parts.add(new Part(name, activations, rest, List.copyOf(captured), seconds));
        }

        PendingReads build(ReadContext detached, Set<String> abandoned) {
            return new PendingReads(step, List.copyOf(parts), detached, Set.copyOf(abandoned), beforeRest);
        }
    }
}
