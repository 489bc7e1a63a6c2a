package dev.deadwatch.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot folders on disk, without a model: a full disk, a process killed at any point of a
 * write, restarts and concurrent trainers, damaged files (issue 12, items 9 to 12).
 */
class SnapshotWriterTest {

    /** Bytes of the first file of every test snapshot. */
    private static final int FIRST = 1000;
    /** Bytes of the second. */
    private static final int SECOND = 500;

    @TempDir
    Path tmp;

    /** Two files of known sizes whose bytes depend on the step. */
    private static Map<String, SnapshotWriter.Content> contents(long step) {
        Map<String, SnapshotWriter.Content> files = new LinkedHashMap<>();
        files.put("a.bin", out -> out.write(bytes(FIRST, step)));
        files.put("b.bin", out -> out.write(bytes(SECOND, step + 1)));
        return files;
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }

    private static long used(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /** A disk of {@code capacity} bytes under {@code root}: a write that would exceed it fails as Linux says ENOSPC. */
    private static SnapshotWriter.Sink disk(Path root, long capacity) {
        return file -> {
            long[] used = {used(root)};
            return new FilterOutputStream(Files.newOutputStream(file)) {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (used[0] + len > capacity) {
                        throw new IOException("No space left on device");
                    }
                    used[0] += len;
                    out.write(b, off, len);
                }
            };
        };
    }

    /** Item 9: after the disk fills, the newest snapshots are there, and the final state is written. */
    @Test
    void onAFullDiskTheNewestSnapshotsWinNotTheOldest() throws Exception {
        Path out = tmp.resolve("out");
        long snapshot = FIRST + SECOND + 300; // with its CHECKSUMS
        try (SnapshotWriter w = new SnapshotWriter(out, "run", 5, disk(out, 3 * snapshot))) {
            for (long step = 10; step <= 100; step += 10) {
                w.write(step, contents(step));
            }
            // room for three: the oldest made way for the newest (the old layout kept steps 10-30 forever)
            assertThat(w.snapshots().keySet()).containsExactly(80L, 90L, 100L);
            for (Path p : w.snapshots().values()) {
                Checksums.verify(p);
            }
            assertThat(Files.readAllBytes(w.folder().resolve("snapshot-0000000100/a.bin"))).isEqualTo(bytes(FIRST, 100));
        }
    }

    /** Item 9: the newest complete snapshot is never deleted to make room, even when the next does not fit beside it. */
    @Test
    void theNewestCompleteSnapshotIsNeverDeletedToMakeRoom() throws Exception {
        Path out = tmp.resolve("out");
        long snapshot = FIRST + SECOND + 300;
        try (SnapshotWriter w = new SnapshotWriter(out, "run", 5, disk(out, snapshot + snapshot / 2))) {
            w.write(10, contents(10));
            assertThatThrownBy(() -> w.write(20, contents(20))).hasMessageContaining("No space left on device");
            assertThat(w.snapshots().keySet()).containsExactly(10L);
            Checksums.verify(w.snapshots().get(10L));
            try (Stream<Path> s = Files.list(w.folder())) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
        }
    }

    /** Thrown by the sink where the process dies: nothing after it runs, as with {@code kill -9}. */
    private static final class Killed extends Error {
        private static final long serialVersionUID = 1L;
    }

    /** A sink that kills the process at its {@code at}-th operation (an open or a write) once armed. */
    private static final class Crash implements SnapshotWriter.Sink {
        long left = Long.MAX_VALUE;

        private void tick() {
            if (--left < 0) {
                throw new Killed();
            }
        }

        @Override
        public OutputStream open(Path file) throws IOException {
            tick();
            return new FilterOutputStream(Files.newOutputStream(file)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    tick();
                    out.write(b, off, Math.min(len, 7)); // a partial write, then the rest if alive
                    tick();
                    out.write(b, off + Math.min(len, 7), len - Math.min(len, 7));
                }
            };
        }
    }

    /**
     * Item 10: a process killed at any point of a write leaves only whole snapshots (a snapshot is
     * one folder renamed into place), and the next start on the same folder removes the debris, of
     * this layout and of the flat one before it; a live writer's work in progress is left alone.
     */
    @Test
    void aKillAtAnyPointLeavesOnlyWholeSnapshotsAndTheNextStartRemovesTheDebris() throws Exception {
        boolean completed = false;
        for (int at = 0; !completed; at++) {
            Path out = tmp.resolve("kill-" + at);
            Crash sink = new Crash();
            SnapshotWriter dying = new SnapshotWriter(out, "run", 1, sink);
            dying.write(10, contents(10));
            sink.left = at;
            try {
                dying.write(20, contents(20));
                completed = true;
            } catch (Killed killed) {
                // the process is gone: its lock with it
            }
            dying.close();
            Path run = out.resolve("run");
            List<Path> whole = SnapshotWriter.snapshots(run).values().stream().toList();
            assertThat(whole).as("kill at operation %d", at).isNotEmpty();
            for (Path p : whole) {
                Checksums.verify(p);
            }
            try (Stream<Path> s = Files.list(run)) {
                assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("snapshot-")))
                        .as("kill at operation %d: every snapshot folder is whole", at)
                        .allMatch(n -> whole.contains(run.resolve(n)));
            }
            Files.write(out.resolve(".snapshot-0000000040.params8123.tmp"), new byte[3]); // the flat layout's debris
            Files.write(out.resolve(".probe.ndlist77.tmp"), new byte[3]);
            try (SnapshotWriter live = SnapshotWriter.open(out, "live", 1)) {
                Path inProgress = Files.createDirectory(live.folder().resolve(".snapshot-0000000099.tmp"));
                try (SnapshotWriter next = SnapshotWriter.open(out, "run", 1)) {
                    assertThat(next.folder()).isEqualTo(out.resolve("run.2"));
                    try (Stream<Path> s = Files.walk(out)) {
                        assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList())
                                .as("kill at operation %d: debris after the next start", at)
                                .containsExactly(".snapshot-0000000099.tmp");
                    }
                    assertThat(inProgress).isDirectory();
                    for (Path p : whole) {
                        Checksums.verify(p);
                    }
                }
            }
        }
    }

    /** Item 11: a restart under the same run id, and a second trainer at the same time, write folders of their own. */
    @Test
    void aRestartAndASecondTrainerOfTheSameRunIdWriteFoldersOfTheirOwn() throws Exception {
        Path out = tmp.resolve("out");
        try (SnapshotWriter first = SnapshotWriter.open(out, "run", 2)) {
            for (long step = 10; step <= 50; step += 10) {
                first.write(step, contents(step));
            }
        }
        try (SnapshotWriter restarted = SnapshotWriter.open(out, "run", 2);
                SnapshotWriter second = SnapshotWriter.open(out, "run", 2)) {
            restarted.write(5, contents(5));
            restarted.write(10, contents(10));
            second.write(7, contents(7));
            assertThat(restarted.folder()).isEqualTo(out.resolve("run.2"));
            assertThat(second.folder()).isEqualTo(out.resolve("run.3"));
            // the restart keeps its own newest (the old layout deleted them: steps 40 and 50 sorted later)
            assertThat(restarted.snapshots().keySet()).containsExactly(5L, 10L);
            assertThat(second.snapshots().keySet()).containsExactly(7L);
            assertThat(SnapshotWriter.snapshots(out.resolve("run")).keySet()).containsExactly(40L, 50L);
            assertThat(Files.readAllBytes(restarted.folder().resolve("snapshot-0000000010/a.bin")))
                    .isEqualTo(bytes(FIRST, 10));
        }
    }

    /** Item 12: every changed byte of every file, and a truncated or missing file, is named with what is wrong. */
    @Test
    void everyChangedByteTruncationOrMissingFileIsRejectedNamingTheFile() throws Exception {
        Path folder;
        try (SnapshotWriter w = SnapshotWriter.open(tmp.resolve("out"), "run", 1)) {
            Map<String, SnapshotWriter.Content> small = new LinkedHashMap<>();
            small.put("a.bin", out -> out.write(bytes(40, 1)));
            small.put("b.json", out -> out.write("{\"step\": 10}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            folder = w.write(10, small);
        }
        assertThat(Checksums.verify(folder)).extracting(Checksums.Entry::name).containsExactly("a.bin", "b.json");
        for (String name : List.of("a.bin", "b.json", Checksums.FILE)) {
            Path file = folder.resolve(name);
            byte[] good = Files.readAllBytes(file);
            for (int i = 0; i < good.length; i++) {
                byte[] bad = good.clone();
                bad[i] ^= 0x01;
                Files.write(file, bad);
                assertThatThrownBy(() -> Checksums.verify(folder)).as("%s byte %d flipped", name, i)
                        .isInstanceOf(SnapshotException.class).hasMessageStartingWith(file.toString())
                        .hasMessageContaining("damaged");
            }
            Files.write(file, Arrays.copyOf(good, good.length - 3));
            assertThatThrownBy(() -> Checksums.verify(folder)).as("%s truncated", name)
                    .hasMessageStartingWith(file.toString()).hasMessageContaining("truncated");
            Files.write(file, good);
        }
        Files.write(folder.resolve("a.bin"), bytes(30, 1));
        assertThatThrownBy(() -> Checksums.verify(folder)).hasMessage(folder.resolve("a.bin") + ": truncated: 30 of 40 bytes");
        Files.delete(folder.resolve("a.bin"));
        assertThatThrownBy(() -> Checksums.verify(folder)).hasMessageContaining("a.bin: missing");
    }

    @Test
    void aRunIdThatCannotNameAFolderOrABadKeepIsRefusedNamingIt() {
        assertThatThrownBy(() -> SnapshotWriter.open(tmp, "..", 1)).hasMessageContaining("'..'");
        assertThatThrownBy(() -> SnapshotWriter.open(tmp, "run", 0)).hasMessageContaining("got 0");
    }
}
