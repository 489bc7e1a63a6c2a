package dev.deadwatch.listener;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The CPU scheduling class of the calling thread, on Linux.
 *
 * <p>The analysis worker puts itself in the {@code SCHED_IDLE} class so that its reads run on
 * CPU time training leaves unused: whenever a training thread (ordinary class) becomes runnable on
 * the worker's core, the kernel switches to it at once, instead of letting the worker finish its
 * time slice. That matters when training's engine threads take every core: they meet at a barrier
 * after each parallel operation, so one of them kept waiting behind the worker stalls the whole
 * step. Where {@code SCHED_IDLE} cannot be set, the worker takes the lowest ordinary priority
 * (nice 19), which lowers its share but not its wake-up latency.
 *
 * <p>On Linux the scheduling class and the nice value are per-thread attributes (called with a
 * thread id, {@code sched_setscheduler} and {@code setpriority} affect that thread only), and any
 * thread may lower its own without privileges. Java has no call for either
 * ({@link Thread#setPriority} is ignored on Linux by default), so this runs {@code chrt} or
 * {@code renice} on the thread's id. Everything here is best effort: on another OS, without
 * {@code /proc}, {@code chrt} or {@code renice}, the calls report that nothing changed and never
 * throw.
 */
public final class ThreadPriority {

    /** {@code SCHED_IDLE}'s number in {@code /proc/<pid>/task/<tid>/stat} (field 41). */
    public static final int SCHED_IDLE = 5;
    /** {@code SCHED_OTHER}'s number, the ordinary class. */
    public static final int SCHED_OTHER = 0;
    /** The lowest ordinary priority (the highest nice value). */
    public static final int LOWEST_NICE = 19;
    /** How long {@code chrt} or {@code renice} may take before it is abandoned. */
    static final long TOOL_TIMEOUT_SECONDS = 5;

    /**
     * A thread's scheduling class and nice value.
     *
     * @param policy the class (0 ordinary, 3 batch, 5 idle, …)
     * @param nice the nice value
     */
    public record Scheduling(int policy, int nice) {
        /** @return "SCHED_IDLE", "nice 19", … as a log line would say it */
        @Override
        public String toString() {
            return policy == SCHED_IDLE ? "SCHED_IDLE" : policy == SCHED_OTHER ? "nice " + nice : "policy " + policy + ", nice " + nice;
        }
    }

    private ThreadPriority() {}

    /** @return the calling thread's kernel thread id, empty where {@code /proc/thread-self} is missing */
    public static OptionalLong currentTid() {
        try {
            // "/proc/thread-self" links to "<pid>/task/<tid>"
            Path link = Files.readSymbolicLink(Path.of("/proc/thread-self"));
            return OptionalLong.of(Long.parseLong(link.getFileName().toString()));
        } catch (IOException | UnsupportedOperationException | NumberFormatException | SecurityException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * @param tid a thread of this process
     * @return its scheduling class and nice value, empty if they cannot be read
     */
    public static Optional<Scheduling> of(long tid) {
        try {
            String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"), StandardCharsets.US_ASCII);
            // the command name (field 2) may hold spaces and parentheses: count from its closing one
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            // f[0] is field 3 of proc_pid_stat(5): nice is field 19, policy field 41
            return Optional.of(new Scheduling(Integer.parseInt(f[38]), Integer.parseInt(f[16])));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** @return the calling thread's scheduling, empty if it cannot be read */
    public static Optional<Scheduling> current() {
        OptionalLong tid = currentTid();
        return tid.isPresent() ? of(tid.getAsLong()) : Optional.empty();
    }

    /**
     * Puts the calling thread in {@code SCHED_IDLE}, or, where that fails, at nice 19.
     *
     * @return the thread's scheduling after the call, empty if it cannot be read
     */
    public static Optional<Scheduling> yieldCurrentThread() {
        OptionalLong tid = currentTid();
        if (tid.isEmpty()) {
            return Optional.empty();
        }
        String id = Long.toString(tid.getAsLong());
        Optional<Scheduling> now = of(tid.getAsLong());
        if (now.isPresent() && now.get().policy() == SCHED_IDLE) {
            return now;
        }
        run(List.of("chrt", "--idle", "--pid", "0", id));
        now = of(tid.getAsLong());
        if (now.isPresent() && now.get().policy() != SCHED_IDLE && now.get().nice() < LOWEST_NICE) {
            run(List.of("renice", "-n", Integer.toString(LOWEST_NICE), "-p", id));
            now = of(tid.getAsLong());
        }
        return now;
    }

    private static void run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(TOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException | RuntimeException e) {
            // the tool is missing here: the thread keeps its scheduling
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
