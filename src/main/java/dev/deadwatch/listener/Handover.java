package dev.deadwatch.listener;

import dev.deadwatch.export.DeadwatchMetrics;

/**
 * What the training thread hands the read worker, and what that costs training: each pause it
 * ends is charged to the budget and exported ({@code deadwatch_training_pause_seconds}); a
 * snapshot the worker has no room for is dropped as {@code busy}, unless the caller waits for
 * room, which is a pause too.
 */
final class Handover {

    private final ReadWorker worker;
    private final ReadSchedule schedule;
    private final DeadwatchMetrics metrics;

    Handover(ReadWorker worker, ReadSchedule schedule, DeadwatchMetrics metrics) {
        this.worker = worker;
        this.schedule = schedule;
        this.metrics = metrics;
    }

    /** @return the worker */
    ReadWorker worker() {
        return worker;
    }

    /** @return whether a snapshot handed over now would be refused */
    boolean full() {
        return worker.full();
    }

    /**
     * Ends a training-thread pause begun at {@code t0}.
     *
     * @param t0 {@link System#nanoTime()} at its start
     * @return its length, ns
     */
    long pause(long t0) {
        long d = System.nanoTime() - t0;
        schedule.charge(d);
        metrics.pause(d);
        return d;
    }

    /** A snapshot dropped because the worker is still reading (see {@link ReadSchedule#dropped()}). */
    void dropped() {
        metrics.skipped("busy");
        schedule.dropped();
    }

    /**
     * Hands a job to the worker.
     *
     * @param job the rest of a snapshot's reads
     * @param wait whether to wait for room instead of dropping it
     * @param waitIsPause whether waiting holds training (not at training end)
     * @return whether the worker took it (else it was counted {@code busy})
     */
    boolean hand(Runnable job, boolean wait, boolean waitIsPause) {
        try {
            long t1 = System.nanoTime();
            if (!worker.submit(job, wait)) {
                dropped();
                return false;
            }
            if (wait && waitIsPause) {
                pause(t1); // waiting for a free place holds training: it is a pause like any other
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            metrics.skipped("busy");
            return false;
        }
    }
}
