package dev.deadwatch.listener;

import dev.deadwatch.capture.GradMode;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one background thread that reads snapshots, behind a queue of one (on the float64 replica,
 * or without one the part of each read that does not need the model):
 * while it reads one snapshot, one more may wait; a third is refused (the listener counts it
 * {@code busy}). The thread runs engine operations single-threaded with autograd off, and under a
 * budget puts itself in Linux's {@code SCHED_IDLE} class ({@link ThreadPriority}), so it runs on
 * CPU time training leaves unused.
 */
final class ReadWorker {

    private static final Logger LOG = LoggerFactory.getLogger(ReadWorker.class);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean THREAD_CPU = THREADS.isCurrentThreadCpuTimeSupported();
    /** How long {@link #drain} waits for queued reads at the end of training. */
    static final long DRAIN_SECONDS = 60;

    /**
     * When training's engine threads take every core, a second of the worker's CPU time is also
     * a second training's threads could have run, even in {@code SCHED_IDLE} (caches, memory
     * bandwidth, and the idle moments between operations are part of a step): measured on the
     * grokking example, training lost about as much as the worker ran. The worker's CPU time is
     * then charged twice, for the read and for what it takes from training, so that when reads
     * are held back by the budget their cost to training stays within about half of it.
     */
    static final double CONTENDED_CHARGE = 2;

    /** Whether the current thread is a read worker that gives the C heap back between reads. */
    private static final ThreadLocal<Boolean> TRIMS = ThreadLocal.withInitial(() -> false);

    private final ThreadPoolExecutor executor;
    private final double charge;
    private final boolean trim;
    /** Run on the worker before and after a job when no other waits ({@link #whenIdle}). */
    private volatile Runnable before = () -> { };
    private volatile Runnable idle = () -> { };

    /**
     * Starts the thread.
     *
     * @param yieldToTraining whether the thread runs in {@code SCHED_IDLE} (under a budget)
     * @param charge what a second of its CPU time counts against the budget ({@link #chargeFor})
     * @param trim whether the thread gives the C heap's free memory back after each read
     *     ({@link NativeHeap}, {@link #betweenReads()})
     */
    ReadWorker(boolean yieldToTraining, double charge, boolean trim) {
        this.charge = charge;
        this.trim = trim;
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(1), r -> {
            Thread th = new Thread(() -> {
                GradMode.disableOnThisThread(); // no autograd graphs, legal in-place writes
                GradMode.singleThreadedOnThisThread(); // leave the other cores to training
                // on this thread: loading the C library through JNA is not the training thread's to wait for
                TRIMS.set(this.trim && NativeHeap.available());
                if (yieldToTraining) {
                    LOG.debug("deadwatch: read worker at {}", ThreadPriority.yieldCurrentThread()
                            .map(Object::toString).orElse("unchanged scheduling"));
                }
                r.run();
            }, "deadwatch-reads");
            th.setDaemon(true);
            return th;
        });
        // the final read is put straight into the queue, which never starts a thread by itself
        executor.prestartAllCoreThreads();
    }

    /**
     * The worker for a training run, started on the training thread: whether training leaves it a
     * core is read from that thread's engine (intra-op) thread count, which its steps use; unknown
     * on other engines, taken as none.
     *
     * @param budgeted whether a budget below 1 is set
     * @param trim whether the worker gives the C heap's free memory back between reads
     * @return the worker
     */
    static ReadWorker forTraining(boolean budgeted, boolean trim) {
        int trainingThreads = GradMode.threadsOfThisThread();
        int cores = Runtime.getRuntime().availableProcessors();
        double charge = chargeFor(budgeted, trainingThreads, cores);
        if (charge > 1) {
            LOG.info("deadwatch: training uses {} engine threads on {} cores, none free for reads: the read"
                    + " worker yields to training and its CPU time counts {}x against the budget",
                    trainingThreads, cores, charge);
        }
        return new ReadWorker(budgeted, charge, trim);
    }

    /**
     * What a second of the worker's CPU time counts against the budget: 1 when training leaves a
     * core free, {@link #CONTENDED_CHARGE} when its engine threads take every core (unknown counts
     * as every core). Without a budget nothing is charged specially.
     *
     * @param budgeted whether a budget below 1 is set
     * @param trainingThreads the training thread's engine (intra-op) threads, negative if unknown
     * @param cores available processors
     * @return the charge
     */
    static double chargeFor(boolean budgeted, int trainingThreads, int cores) {
        return budgeted && (trainingThreads < 0 || trainingThreads >= cores) ? CONTENDED_CHARGE : 1;
    }

    /** @return what a second of the worker's CPU time counts against the budget */
    double charge() {
        return charge;
    }

    /**
     * Between two reads of a snapshot on a worker that trims ({@link NativeHeap}): gives back what
     * the read before freed, so the next one does not stack its arrays on the free but fragmented
     * memory of the first. Elsewhere (the training thread, a worker that does not trim) nothing.
     */
    static void betweenReads() {
        if (TRIMS.get()) {
            NativeHeap.trim();
        }
    }

    /**
     * @param beforeJob run on the worker before a job when no other waits (what the next snapshot
     *     should find ready while this one is read)
     * @param afterJob run on the worker after a job, once the C heap is trimmed, when no other job
     *     waits (what a read must not hold but the next snapshot should find ready); a failure of
     *     either is logged and costs nothing else
     */
    void whenIdle(Runnable beforeJob, Runnable afterJob) {
        this.before = beforeJob;
        this.idle = afterJob;
    }

    /** @return whether a snapshot handed over now would be refused (one read running, one waiting) */
    boolean full() {
        return executor.getQueue().remainingCapacity() == 0;
    }

    /** @return whether the worker has been shut down */
    boolean stopped() {
        return executor.isShutdown();
    }

    /**
     * Hands a read over.
     *
     * @param job the read
     * @param wait whether to wait for a free place (the final read) instead of being refused
     * @return whether it was accepted
     * @throws InterruptedException when interrupted while waiting
     */
    boolean submit(Runnable read, boolean wait) throws InterruptedException {
        Runnable job = () -> {
            try {
                whenNothingWaits(before, "before");
                read.run();
            } finally {
                betweenReads(); // what the snapshot's reads freed, before training's next steps
                afterJob();
            }
        };
        if (wait) {
            executor.getQueue().put(job);
            return true;
        }
        try {
            executor.execute(job);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    private void afterJob() {
        whenNothingWaits(idle, "after");
    }

    private void whenNothingWaits(Runnable action, String when) {
        if (!executor.getQueue().isEmpty()) {
            return;
        }
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.warn("deadwatch: {} a read: {}", when, e.toString());
        }
    }

    /**
     * Waits until every job handed over before this call has run (a no-op job queued behind them).
     *
     * @throws InterruptedException when interrupted while waiting
     */
    void awaitIdle() throws InterruptedException {
        java.util.concurrent.FutureTask<Void> barrier = new java.util.concurrent.FutureTask<>(() -> null);
        executor.getQueue().put(barrier);
        try {
            barrier.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The worker's clock for the budget: its CPU time where the JVM can tell it, else wall time.
     * The worker yields its core to training, so the wall time of a read includes waits that
     * cost training nothing; its CPU time is what it took from the machine.
     *
     * @return nanoseconds on the calling thread's clock
     */
    static long clock() {
        return THREAD_CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /** Waits for the queued reads to finish (at most {@link #DRAIN_SECONDS}), then stops. */
    void drain() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(DRAIN_SECONDS, TimeUnit.SECONDS)) {
                LOG.warn("deadwatch: reads still running after {} s at the end of training", DRAIN_SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
