package dev.deadwatch.listener;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Keeps the parameters' copies of past snapshots for the next ones. Copying into arrays that
 * already exist costs the training thread a memory copy; making new ones costs it the page faults
 * of fresh native memory as well, about ten times as long (90 MB of parameters: about 0.1 s
 * against 0.01 s). At most two snapshots' copies are in use at a time (one read, one waiting),
 * so at most {@link #KEPT} are kept. Taken on the training thread, given back on the worker.
 */
final class CopyPool implements AutoCloseable {

    /** Spare copies kept at most. */
    static final int KEPT = 2;

    private final NDManager parent;
    private final Deque<StagedParameters> spare = new ArrayDeque<>();
    private boolean closed;
    private long reused;

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
        return StagedParameters.of(block, parent);
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
