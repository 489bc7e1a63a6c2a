package dev.deadwatch.listener;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Keeps the parameters' copies of past snapshots for the next ones. Copying into arrays that
 * already exist costs the training thread a memory copy; making new ones costs it the page faults
 * of fresh native memory as well, three to five times as long (90 MB of parameters: 0.03 to 0.05 s
 * against 0.011 s). At most two snapshots' copies are in use at a time (one read, one waiting),
 * so at most {@link #KEPT} are kept. Taken on the training thread, given back on the worker.
 *
 * <p>The worker {@linkplain #prefill makes} a spare set, its memory faulted in there, where the
 * training thread would otherwise make one: without a replica before a read when no other
 * snapshot waits (the next snapshot comes while this one is read), on the replica path while it is
 * idle. There a read does not need its copies once they are loaded into the replica: they are
 * {@linkplain #free freed}, so no read holds a spare set beside the replica.
 */
final class CopyPool implements AutoCloseable {

    /** Spare copies kept at most. */
    static final int KEPT = 2;

    private final NDManager parent;
    private final Deque<StagedParameters> spare = new ArrayDeque<>();
    private boolean closed;
    private long reused;
    /** Each parameter's shape and type, from the last set made or freed: what {@link #prefill} makes. */
    private List<StagedParameters.Layout> layout = List.of();

    /** @param parent manager under which new copies are made */
    CopyPool(NDManager parent) {
        this.parent = parent;
    }

    /**
     * @param block the model's block
     * @return copies of its current parameters: a spare set refilled in place when its shapes and
     *     types still fit, else a new set
     */
    StagedParameters copy(Block block) {
        StagedParameters s;
        synchronized (this) {
            s = spare.pollFirst();
        }
        if (s != null) {
            try {
                if (s.refill(block)) {
                    synchronized (this) {
                        reused++;
                    }
                    return s;
                }
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
            s.close(); // no longer fits the model: made anew below
        }
        StagedParameters made = StagedParameters.of(block, parent);
        synchronized (this) {
            layout = made.layout();
        }
        return made;
    }

    /**
     * Frees copies whose values are held elsewhere now (loaded into the replica), keeping their
     * layout for {@link #prefill}.
     *
     * @param copies from {@link #copy}
     */
    void free(StagedParameters copies) {
        synchronized (this) {
            layout = copies.layout();
        }
        copies.close();
    }

    /**
     * Makes a spare set of the last layout, zero-filled (its memory faulted in here, off the
     * training thread), unless one is kept already, the pool is closed or no set was made yet.
     *
     * @return whether a set was made
     */
    boolean prefill() {
        List<StagedParameters.Layout> of;
        synchronized (this) {
            if (closed || !spare.isEmpty() || layout.isEmpty()) {
                return false;
            }
            of = layout;
        }
        StagedParameters made = StagedParameters.zeros(of, parent);
        synchronized (this) {
            if (!closed && spare.isEmpty()) {
                spare.addLast(made);
                return true;
            }
        }
        made.close();
        return false;
    }

    /** @return whether a set was made yet (its layout is known) */
    synchronized boolean madeAny() {
        return !layout.isEmpty();
    }

    /** @return how many spare sets are kept now */
    synchronized int spares() {
        return spare.size();
    }

    /**
     * Takes back copies no read uses any more (from any thread); frees them when enough are kept
     * or the pool is closed.
     *
     * @param copies from {@link #copy}
     */
    void giveBack(StagedParameters copies) {
        synchronized (this) {
            if (!closed && spare.size() < KEPT) {
                spare.addLast(copies);
                return;
            }
        }
        copies.close();
    }

    /** @return how many snapshots were copied into a spare set rather than a new one */
    synchronized long reused() {
        return reused;
    }

    @Override
    public void close() {
        List<StagedParameters> left;
        synchronized (this) {
            closed = true;
            left = List.copyOf(spare);
            spare.clear();
        }
        left.forEach(StagedParameters::close);
    }
}
