package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The read worker gives freed C heap back to the system; nothing else trims. */
class NativeHeapTest {

    /** Blocks below glibc's mmap threshold, so they come from the thread's arena. */
    private static final int BLOCK = 64 << 10;
    private static final int BLOCKS = 2048; // 128 MiB
    private static final long MIB = 1 << 20;

    private static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    @Test
    void trimGivesFreedArenaMemoryBackToTheSystem() throws Exception {
        assumeTrue(NativeHeap.available(), "glibc only");
        AtomicLong kept = new AtomicLong();
        AtomicLong returned = new AtomicLong();
        Thread t = new Thread(() -> {
            try {
                long[] blocks = new long[BLOCKS];
                for (int i = 0; i < BLOCKS; i++) {
                    blocks[i] = Native.malloc(BLOCK);
                    new Pointer(blocks[i]).setMemory(0, BLOCK, (byte) 1); // touched: resident
                }
                // every block but the last freed: one free region below a block in use, which
                // free() alone does not give back (only memory at the top of a heap is)
                for (int i = 0; i < BLOCKS - 1; i++) {
                    Native.free(blocks[i]);
                }
                long freed = rss();
                long before = NativeHeap.trims();
                assertThat(NativeHeap.trim()).as("malloc_trim released memory").isTrue();
                assertThat(NativeHeap.trims()).isEqualTo(before + 1);
                long trimmed = rss();
                kept.set(freed);
                returned.set(freed - trimmed);
                Native.free(blocks[BLOCKS - 1]);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, "arena-of-its-own");
        t.start();
        t.join();
        assertThat(kept.get()).isPositive();
        assertThat(returned.get()).as("bytes given back of %d MiB freed", (long) BLOCK * (BLOCKS - 1) / MIB)
                .isGreaterThan((long) BLOCK * BLOCKS / 2);
    }

    @Test
    void aWorkerThatTrimsDoesSoBetweenReadsAndAfterEachJobAndTheCallingThreadNever() throws Exception {
        assumeTrue(NativeHeap.available(), "glibc only");
        ReadWorker trimming = new ReadWorker(false, 1, true);
        ReadWorker not = new ReadWorker(false, 1, false);
        try {
            long t0 = NativeHeap.trims();
            assertThat(trimming.submit(ReadWorker::betweenReads, true)).isTrue();
            trimming.awaitIdle();
            assertThat(NativeHeap.trims() - t0).as("one between reads, one after the job").isEqualTo(2);

            long t1 = NativeHeap.trims();
            assertThat(not.submit(ReadWorker::betweenReads, true)).isTrue();
            not.awaitIdle();
            ReadWorker.betweenReads(); // the test's thread stands for the training thread
            assertThat(NativeHeap.trims()).isEqualTo(t1);
        } finally {
            trimming.drain();
            not.drain();
        }
    }
    @Test
    void theIdleActionsRunBeforeAndAfterAJobOnlyWhenNoOtherWaitsAndTheirFailureStopsNothing() throws Exception {
        ReadWorker worker = new ReadWorker(false, 1, false);
        java.util.List<String> ran = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.concurrent.BlockingQueue<String> idle = new java.util.concurrent.LinkedBlockingQueue<>();
        try {
            java.util.List<String> before = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            worker.whenIdle(() -> before.add("before " + ran.size()), () -> {
                idle.add("after " + ran.get(ran.size() - 1));
                throw new IllegalStateException("an idle action that fails");
            });
            java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
            assertThat(worker.submit(() -> {
                started.countDown();
                try {
                    hold.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                ran.add("first");
            }, true)).isTrue();
            assertThat(started.await(1, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
            assertThat(worker.submit(() -> ran.add("second"), true)).isTrue(); // waits behind the first
            hold.countDown();
            assertThat(idle.poll(1, java.util.concurrent.TimeUnit.MINUTES)).as("not after the first: the second waited")
                    .isEqualTo("after second");
            assertThat(worker.submit(() -> ran.add("third"), true)).as("the failed idle action stopped nothing").isTrue();
            assertThat(idle.poll(1, java.util.concurrent.TimeUnit.MINUTES)).isEqualTo("after third");
            assertThat(ran).containsExactly("first", "second", "third");
            // each started with none waiting (the second was handed over once the first had started)
            assertThat(before).containsExactly("before 0", "before 1", "before 2");
        } finally {
            worker.drain();
        }
    }
}
