package dev.deadwatch.listener;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * When the monitor reads: the snapshot interval, the order read every few snapshots, and the
 * time budget with its back-off.
 *
 * <p>The budget is checked before reading, with each read's cost predicted from its last run: a
 * snapshot whose read would take the monitor's share of wall time over the budget is not taken,
 * and the interval doubles (up to {@code maxInterval}); an order read that would is left for a
 * later snapshot. When the monitor's share falls under half the budget the interval halves back
 * towards the configured one. The first snapshot's cost (class loading, JIT, building the
 * replica) is not charged, or its one-time warm-up would silence the monitor for the rest of a
 * long run.
 *
 * <p>Time charged is whatever the listener adds with {@link #charge}: the training thread's
 * pauses and the read worker's CPU time. Thread-safe for one training thread deciding and one
 * worker charging.
 */
final class ReadSchedule {

    /** What to do at a step. */
    enum Action {
        /** Not a snapshot step. */
        NONE,
        /** A snapshot step whose read does not fit the budget: count it, do not take it. */
        OVER_BUDGET,
        /** Take a snapshot and read it. */
        READ
    }

    /**
     * A decision at one step.
     *
     * @param action what to do
     * @param withOrder whether the order read runs with this snapshot
     * @param budgetSkips reads refused by the budget at this step (a refused snapshot counts
     *     one, plus one for the order read due with it; an order read left for later counts one)
     */
    record Decision(Action action, boolean withOrder, int budgetSkips) {
        static final Decision NONE = new Decision(Action.NONE, false, 0);
    }

    private final int configuredInterval;
    private final int maxInterval;
    private final int orderEvery;
    private final double budget;
    private final LongSupplier clock;

    private int interval;
    private long wallStart;
    private long snapshots;
    private long sinceOrder;
    private long lastSnapshotStep;
    private long previousSinceOrder;
    private long previousSnapshotStep;
    private final AtomicLong readNanos = new AtomicLong();
    /** Cost of the last snapshot without its order read, ns. */
    private volatile long lastReadNanos;
    /** Cost of the last complete order read, ns; 0 until one has run. */
    private volatile long lastOrderNanos;
    private volatile long warmupNanos;
    private volatile boolean warmedUp;

    /**
     * @param interval snapshot every this many steps
     * @param maxInterval the interval's cap under back-off
     * @param orderEvery the order read every this many snapshots
     * @param budget share of wall time the monitor may take, in (0, 1]; 1 is no budget
     * @param clock nanosecond clock ({@link System#nanoTime} in the listener)
     */
    ReadSchedule(int interval, int maxInterval, int orderEvery, double budget, LongSupplier clock) {
        this.configuredInterval = interval;
        this.interval = interval;
        this.maxInterval = maxInterval;
        this.orderEvery = orderEvery;
        this.budget = budget;
        this.clock = clock;
    }

    /** Starts the wall clock the budget is a share of. */
    void start() {
        wallStart = clock.getAsLong();
    }

    /** @return the current snapshot interval in steps */
    int interval() {
        return interval;
    }

    /** @return whether a budget below 1 is set */
    boolean budgeted() {
        return budget < 1;
    }

    /** @return snapshots taken */
    long snapshots() {
        return snapshots;
    }

    /** @return whether the order read is due with the next snapshot */
    boolean orderDue() {
        return sinceOrder + 1 >= orderEvery;
    }

    /** @return whether {@code step} is a snapshot step */
    boolean isSnapshotStep(long step) {
        return step % interval == 0;
    }

    /**
     * @param step the step just trained
     * @return whether that state has not been read (for the final read at training end)
     */
    boolean unread(long step) {
        return step > lastSnapshotStep;
    }

    /**
     * Decides what to do at a step; adjusts the interval (back-off and recovery).
     *
     * @param step the step just trained, from 1
     * @return the decision
     */
    Decision decide(long step) {
        if (!isSnapshotStep(step)) {
            return Decision.NONE;
        }
        double elapsed = Math.max(1, clock.getAsLong() - wallStart);
        long spent = charged();
        boolean orderDue = orderDue();
        if (budgeted() && snapshots > 0 && (spent + lastReadNanos) / elapsed > budget) {
            interval = (int) Math.min(interval * 2L, maxInterval);
            return new Decision(Action.OVER_BUDGET, false, orderDue ? 2 : 1);
        }
        boolean withOrder = orderDue;
        int skips = 0;
        if (budgeted() && orderDue && lastOrderNanos > 0
                && (spent + lastReadNanos + lastOrderNanos) / elapsed > budget) {
            withOrder = false; // the order read waits for a snapshot where it fits
            skips = 1;
        }
        if (interval > configuredInterval && spent / elapsed < budget / 2) {
            interval = Math.max(configuredInterval, interval / 2); // back under budget: recover
        }
        return new Decision(Action.READ, withOrder, skips);
    }

    /**
     * A snapshot is taken at {@code step}.
     *
     * @param step the step
     * @param withOrder whether its order read runs
     */
    void taken(long step, boolean withOrder) {
        previousSinceOrder = sinceOrder;
        previousSnapshotStep = lastSnapshotStep;
        sinceOrder = withOrder ? 0 : sinceOrder + 1;
        lastSnapshotStep = step;
        snapshots++;
    }

    /**
     * The snapshot just taken was dropped unread (the worker was busy): its state is read at
     * training end if it is the last, and an order read due with it stays due.
     */
    void dropped() {
        sinceOrder = previousSinceOrder;
        lastSnapshotStep = previousSnapshotStep;
    }

    /**
     * Whether a read needing {@code nanos} more keeps the monitor within its budget.
     *
     * @param nanos the time still needed
     * @return true when it fits (always without a budget)
     */
    boolean fits(long nanos) {
        double elapsed = Math.max(1, clock.getAsLong() - wallStart);
        return !budgeted() || (charged() + nanos) / elapsed <= budget;
    }

    /** @param nanos monitor time to charge to the budget */
    void charge(long nanos) {
        readNanos.addAndGet(nanos);
    }

    /** @return time charged to the budget: all of it but the first snapshot's */
    long charged() {
        return readNanos.get() - warmupNanos;
    }

    /**
     * Remembers what a snapshot cost, split into its order read and the rest, to predict the next.
     *
     * @param totalNanos the snapshot's charged cost
     * @param orderNanos the order read's part of it
     * @param orderComplete whether a complete order read ran (one stopped by the budget says less)
     */
    void cost(long totalNanos, long orderNanos, boolean orderComplete) {
        if (orderComplete) {
            lastOrderNanos = orderNanos;
        }
        lastReadNanos = Math.max(0, totalNanos - orderNanos);
        if (!warmedUp) {
            warmedUp = true;
            warmupNanos = totalNanos;
        }
    }
}
