package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The worker's scheduling class, read back from {@code /proc} and checked against {@code chrt}'s
 * own report of the thread, so a misparse of {@code stat} fails here. Linux only (the tool's
 * platform with the PyTorch native library this project ships).
 */
class ThreadPriorityTest {

    @Test
    void aThreadThatYieldsIsInSchedIdleAndNoOtherThreadIs() throws Exception {
        assumeTrue(Files.isSymbolicLink(Path.of("/proc/thread-self")), "Linux /proc");
        Optional<ThreadPriority.Scheduling> before = ThreadPriority.current();
        assertThat(before).as("this thread's scheduling").isPresent();
        assertThat(before.get().policy()).isNotEqualTo(ThreadPriority.SCHED_IDLE);

        AtomicReference<Optional<ThreadPriority.Scheduling>> after = new AtomicReference<>();
        AtomicReference<String> chrt = new AtomicReference<>();
        AtomicReference<OptionalLong> tid = new AtomicReference<>();
        Thread t = new Thread(() -> {
            tid.set(ThreadPriority.currentTid());
            after.set(ThreadPriority.yieldCurrentThread());
            chrt.set(chrtSays(tid.get().getAsLong()));
        });
        t.start();
        t.join();

        assertThat(tid.get()).isPresent();
        assertThat(tid.get().getAsLong()).isNotEqualTo(ThreadPriority.currentTid().getAsLong());
        assertThat(after.get()).hasValueSatisfying(s -> assertThat(s.policy()).isEqualTo(ThreadPriority.SCHED_IDLE));
        assertThat(after.get().get()).hasToString("SCHED_IDLE");
        assertThat(chrt.get()).as("chrt -p on the thread").contains("SCHED_IDLE");
        // a per-thread attribute: the calling thread keeps its class and nice value
        assertThat(ThreadPriority.current()).isEqualTo(before);
    }

    @Test
    void theNiceValueIsReadFromTheThreadsOwnStat() throws Exception {
        assumeTrue(Files.isSymbolicLink(Path.of("/proc/thread-self")), "Linux /proc");
        AtomicReference<Optional<ThreadPriority.Scheduling>> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            long id = ThreadPriority.currentTid().getAsLong();
            run("renice", "-n", "7", "-p", Long.toString(id));
            seen.set(ThreadPriority.of(id));
        });
        t.start();
        t.join();
        assertThat(seen.get()).contains(new ThreadPriority.Scheduling(ThreadPriority.SCHED_OTHER, 7));
        assertThat(seen.get().get()).hasToString("nice 7");
    }

    @Test
    void anUnknownThreadHasNoScheduling() {
        assertThat(ThreadPriority.of(-1)).isEmpty();
    }

    private static String chrtSays(long tid) {
        return run("chrt", "-p", Long.toString(tid));
    }

    private static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
