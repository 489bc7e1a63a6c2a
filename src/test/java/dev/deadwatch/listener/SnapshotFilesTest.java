package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.snapshot.Reread;
import dev.deadwatch.snapshot.Snapshot;
import dev.deadwatch.snapshot.SnapshotException;
import dev.deadwatch.snapshot.SnapshotReader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor's snapshot files against what went wrong with them (issue 12, items 8 to 12): a
 * folder that cannot be written, a restart into the same folder, and reading a snapshot back.
 */
class SnapshotFilesTest {

    /** How far a re-read DDS profile {@code D(ε)} may be from the live one (same float64 arithmetic, other threads). */
    private static final double PROFILE_TOLERANCE = 1e-6;

    @TempDir
    Path tmp;

    /**
     * Item 12: every snapshot of a run reads back to the numbers the live monitor exported for it:
     * dead, structural and unresolved counts per layer, and the orders (read again where the
     * order read ran live, carried from the earlier one where it did not).
     */
    @Test
    void everySnapshotReadsBackToTheNumbersTheLiveMonitorExported() throws Exception {
        Path dir = tmp.resolve("out");
        List<ReadReport> live = Collections.synchronizedList(new ArrayList<>());
        List<TimelineRow> rows;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(2).optBudget(1.0).optWaitForReads(true)
                .optBlockFactory(TinyRun::block).optOutputDirectory(dir).optKeepSnapshots(10).optRunId("back")
                .optOnReport(live::add).build()) {
            TinyRun.train(30, monitor);
            rows = monitor.timeline();
        }
        // the first and the last snapshot are always read; one between may be dropped as busy
        assertThat(rows).extracting(TimelineRow::step).startsWith(5L).endsWith(30L);
        Map<Long, ReadReport> byStep = new HashMap<>();
        live.forEach(r -> byStep.put(r.step(), r));
        TimelineRow lastWithOrders = null;
        int orderReads = 0;
        for (TimelineRow row : rows) {
            ReadReport liveReport = byStep.get(row.step());
            if (liveReport.orderRead()) {
                lastWithOrders = row;
                orderReads++;
            }
            Snapshot s = SnapshotReader.open(dir.resolve("back").resolve(String.format("snapshot-%010d", row.step())));
            assertThat(s.info().precision()).isEqualTo("float64");
            Reread again = SnapshotReader.reread(s, TinyRun::block, false);
            assertThat(again.differences()).as("step %d", row.step()).isEmpty();
            assertThat(again.exported().dead()).as("step %d", row.step()).isEqualTo(row.dead()).isNotEmpty();
            assertThat(again.exported().structural()).isEqualTo(row.structural());
            assertThat(again.exported().unresolved()).isEqualTo(row.unresolved());
            assertThat(again.exported().orders()).isEqualTo(lastWithOrders == null ? Map.of() : lastWithOrders.orders());
            assertThat(again.report().orderRead()).isEqualTo(liveReport.orderRead());
            assertThat(again.report().orders()).extracting(OrderResult::candidate, OrderResult::classification,
                    OrderResult::order).containsExactlyElementsOf(liveReport.orders().stream().map(o ->
                            org.assertj.core.groups.Tuple.tuple(o.candidate(), o.classification(), o.order())).toList());
            List<DdsResult> dds = again.report().dds();
            assertThat(dds).hasSameSizeAs(liveReport.dds()).isNotEmpty();
            for (int i = 0; i < dds.size(); i++) {
                assertThat(dds.get(i).layer()).isEqualTo(liveReport.dds().get(i).layer());
                assertThat(dds.get(i).side()).isEqualTo(liveReport.dds().get(i).side());
                assertThat(dds.get(i).profile()).containsExactly(liveReport.dds().get(i).profile(),
                        org.assertj.core.data.Offset.offset(PROFILE_TOLERANCE));
            }
        }
        // every other read has the order read: both kinds were read back
        assertThat(orderReads).as("order reads in the run").isBetween(1, rows.size() - 1);
        // the Fisher side needs the labels: they are in the snapshot now
        assertThat(byStep.get(30L).dds()).anyMatch(r -> r.side() == dev.deadwatch.reads.Side.FISHER);
    }

    /** Item 12: a float32 run (reads on the model itself) reads back too, in float32. */
    @Test
    void aFloat32RunReadsBackInFloat32() throws Exception {
        Path dir = tmp.resolve("out");
        List<TimelineRow> rows;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(10).optOrderEvery(1).optBudget(1.0).optWaitForReads(true)
                .optOutputDirectory(dir).optRunId("f32").build()) {
            TinyRun.train(20, monitor);
            rows = monitor.timeline();
        }
        Snapshot s = SnapshotReader.open(dir.resolve("f32"));
        assertThat(s.info().step()).isEqualTo(20);
        assertThat(s.info().precision()).isEqualTo("float32");
        Reread again = SnapshotReader.reread(s, TinyRun::block, false);
        TimelineRow last = rows.get(rows.size() - 1);
        assertThat(again.exported().dead()).isEqualTo(last.dead()).isNotEmpty();
        assertThat(again.exported().orders()).isEqualTo(last.orders());
        assertThat(again.differences()).isEmpty();
    }

    /** Item 12: a flipped byte is reported, not loaded; a truncated file is named with what is wrong. */
    @Test
    void aFlippedByteOrATruncatedFileIsRejectedNamingTheFile() throws Exception {
        Path dir = tmp.resolve("out");
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(10).optBudget(1.0).optWaitForReads(true)
                .optBlockFactory(TinyRun::block).optOutputDirectory(dir).optRunId("bad").build()) {
            TinyRun.train(10, monitor);
        }
        Path snapshot = dir.resolve("bad/snapshot-0000000010");
        Path params = snapshot.resolve(Snapshot.PARAMETERS);
        byte[] good = Files.readAllBytes(params);
        byte[] flipped = good.clone();
        flipped[good.length - 5] ^= 0x10; // inside the last weight: DJL itself would load it
        Files.write(params, flipped);
        assertThatThrownBy(() -> SnapshotReader.open(snapshot)).isInstanceOf(SnapshotException.class)
                .hasMessageStartingWith(params.toString()).hasMessageContaining("damaged");
        Files.write(params, good);
        Path inputs = snapshot.resolve(Snapshot.INPUTS);
        long size = Files.size(inputs);
        byte[] in = Files.readAllBytes(inputs);
        Files.write(inputs, java.util.Arrays.copyOf(in, in.length / 2));
        assertThatThrownBy(() -> SnapshotReader.open(dir.resolve("bad")))
                .hasMessage(inputs + ": truncated: " + (in.length / 2) + " of " + size + " bytes");
        Files.write(inputs, in);
        assertThat(SnapshotReader.reread(SnapshotReader.open(snapshot), TinyRun::block, false).exported().dead()).isNotEmpty();
    }

    private static String stderrOf(ThrowingRunnable body) throws Exception {
        PrintStream stderr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(stderr);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /**
     * Item 8: where no snapshot can be written, each failed write is counted in its own counter
     * and said once; the reads were done and published, so none is counted as {@code error}.
     */
    @Test
    void aFolderThatCannotBeWrittenIsCountedAndSaidOnceAndItsReadsAreNotErrors() throws Exception {
        Path notAFolder = Files.writeString(tmp.resolve("file"), "not a folder");
        assertUnwritable(notAFolder.resolve("snapshots"));
    }

    /** Item 8, as reported: an existing read-only folder (not read-only to root: then skipped). */
    @Test
    void anExistingReadOnlyFolderIsCountedAndSaidOnceAndItsReadsAreNotErrors() throws Exception {
        Path readOnly = Files.createDirectory(tmp.resolve("read-only"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r-xr-xr-x")));
        Assumptions.assumeFalse(Files.isWritable(readOnly), "root writes into a read-only folder");
        assertUnwritable(readOnly);
    }

    private void assertUnwritable(Path dir) throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        double[] counted = new double[3];
        String log = stderrOf(() -> {
            try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optBudget(1.0).optWaitForReads(true)
                    .optWaitForReads(true).optRegistry(reg).optOutputDirectory(dir).build()) {
                TinyRun.train(30, monitor);
                counted[0] = monitor.timeline().size();
                counted[1] = reg.get("deadwatch.snapshot.write.failures").counter().count();
                counted[2] = reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count();
            }
        });
        assertThat(counted[0]).as("reads done and published").isEqualTo(6);
        assertThat(counted[1]).as("failed writes").isEqualTo(6);
        assertThat(counted[2]).as("reads counted as error").isZero();
        assertThat(log.split("could not be written", -1)).as(log).hasSize(2);
    }

    /** Item 8: the cause a failure is logged once under does not contain the file it names. */
    @Test
    void theCauseOfAFailedWriteDoesNotDependOnItsStep() {
        String folder = "/data/out/run";
        assertThat(SnapshotFiles.cause(new AccessDeniedException(folder + "/.snapshot-0000000010.tmp/parameters.params"), folder))
                .isEqualTo(SnapshotFiles.cause(new AccessDeniedException(folder + "/.snapshot-0000000020.tmp/inputs.ndlist"), folder));
        assertThat(SnapshotFiles.cause(new IOException(folder + "/.snapshot-0000000010.tmp: Read-only file system"), folder))
                .isEqualTo(SnapshotFiles.cause(new IOException(folder + "/.snapshot-0000000020.tmp: Read-only file system"), folder))
                .isNotEqualTo(SnapshotFiles.cause(new IOException("No space left on device"), folder));
    }

    /** Item 11: a restart of a run into the same folder keeps its own newest snapshots, in a folder of its own. */
    @Test
    void aRestartIntoTheSameFolderKeepsItsOwnSnapshots() throws Exception {
        Path dir = tmp.resolve("out");
        for (int steps : new int[] {30, 10}) {
            try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optBudget(1.0)
                    .optWaitForReads(true).optOutputDirectory(dir).optKeepSnapshots(2).optRunId("again").build()) {
                TinyRun.train(steps, monitor);
            }
        }
        assertThat(snapshotsIn(dir.resolve("again"))).containsExactly("snapshot-0000000025", "snapshot-0000000030");
        // the flat layout deleted these two: the first start's steps 25 and 30 sorted later
        assertThat(snapshotsIn(dir.resolve("again.2"))).containsExactly("snapshot-0000000005", "snapshot-0000000010");
        assertThat(SnapshotReader.open(dir.resolve("again.2")).info().step()).isEqualTo(10);
    }

    private static List<String> snapshotsIn(Path run) throws IOException {
        try (Stream<Path> s = Files.list(run)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("snapshot-")).sorted().toList();
        }
    }
}
