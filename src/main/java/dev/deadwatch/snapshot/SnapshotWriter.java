package dev.deadwatch.snapshot;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the snapshots of one run (docs/snapshots.md). The run gets a folder of its own,
 * {@code <out>/<run id>} (or {@code <run id>.2}, {@code .3}, … when that name is taken: a restart,
 * or a second trainer given the same run id), held under a file lock while the writer is open.
 * Each snapshot is one folder, {@code snapshot-<step>}, written as {@code .snapshot-<step>.tmp}
 * with a {@code CHECKSUMS} file and renamed into place whole: a crash at any point
 * leaves either the complete folder or none, plus {@code .tmp} debris that the next writer opened
 * on the same {@code <out>} removes (from every run folder whose writer is gone). The newest
 * {@code keep} snapshots of the run are kept; when a write fails for want of space, the oldest
 * snapshots (never the newest) are deleted and the write tried again, so a full disk holds the
 * newest snapshots, not the oldest.
 */
public final class SnapshotWriter implements AutoCloseable {

    /** A snapshot folder's name: {@code snapshot-} and the step, zero-padded to 10 digits. */
    static final Pattern SNAPSHOT = Pattern.compile("snapshot-(\\d{10,19})");
    /** The lock file in a run folder. */
    static final String LOCK = ".lock";
    /** Run folder names tried before giving up: {@code <run>}, {@code <run>.2}, … */
    private static final int MAX_FOLDERS = 10_000;
    /**
     * Run folders this process writes. Their lock files are never opened by {@link #sweep}: on
     * Linux, closing any channel of a file releases every lock the process holds on it.
     */
    private static final java.util.Set<Path> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Writes one file's content. */
    @FunctionalInterface
    public interface Content {
        /**
         * @param out where it goes (closed by the writer)
         * @throws IOException when it cannot be written
         */
        void write(OutputStream out) throws IOException;
    }

    /** Opens a file for writing: the file system, or in tests a disk that fills up or a process that dies. */
    @FunctionalInterface
    interface Sink {
        OutputStream open(Path file) throws IOException;
    }

    private final Path folder;
    private final int keep;
    private final Sink sink;
    private final FileChannel lockChannel;
    private final FileLock lock;

    /**
     * Claims a folder for the run under {@code out} and removes the debris of crashed writers.
     *
     * @param out the output folder (created if missing)
     * @param runId the run id, which names the run folder
     * @param keep snapshots kept, at least 1
     * @return the writer
     * @throws IOException when the folder cannot be created or claimed
     * @throws IllegalArgumentException naming a run id that cannot name a folder, or a bad {@code keep}
     */
    public static SnapshotWriter open(Path out, String runId, int keep) throws IOException {
        return new SnapshotWriter(out, runId, keep, Files::newOutputStream);
    }

    SnapshotWriter(Path out, String runId, int keep, Sink sink) throws IOException {
        if (runId == null || !runId.matches("[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,63}")) {
            throw new IllegalArgumentException("run id '" + runId + "' cannot name a snapshot folder: 1-64 characters"
                    + " of [A-Za-z0-9_.:-], not starting with '.'");
        }
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be >= 1, got " + keep);
        }
        this.keep = keep;
        this.sink = sink;
        Files.createDirectories(out);
        Debris.sweep(out);
        Path claimed = null;
        for (int n = 1; claimed == null; n++) {
            if (n > MAX_FOLDERS) {
                throw new FileAlreadyExistsException(out.resolve(runId) + " and " + MAX_FOLDERS + " numbered folders after it");
            }
            Path candidate = out.resolve(n == 1 ? runId : runId + "." + n);
            try {
                Files.createDirectory(candidate);
                claimed = candidate;
            } catch (FileAlreadyExistsException taken) {
                // an earlier start of this run, or another trainer with the same run id
            }
        }
        this.folder = claimed;
        this.lockChannel = FileChannel.open(folder.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock();
        } catch (IOException unsupported) {
            l = null; // a file system without locks: the folder is still this run's alone
        }
        this.lock = l;
        LIVE.add(key(folder));
    }

    /** @return whether a writer of this process writes into this run folder */
    static boolean live(Path runFolder) {
        return LIVE.contains(key(runFolder));
    }

    private static Path key(Path folder) {
        return folder.toAbsolutePath().normalize();
    }

    /** @return this run's folder */
    public Path folder() {
        return folder;
    }

    /**
     * Writes one snapshot folder, then deletes the oldest beyond {@code keep}. A snapshot of the
     * same step as an existing one replaces it.
     *
     * @param step its step
     * @param files file name → content, written in this order; names of letters, digits, {@code ._-}
     * @return the snapshot folder
     * @throws IOException when it cannot be written even after deleting every older snapshot
     */
    public synchronized Path write(long step, Map<String, Content> files) throws IOException {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        String name = String.format(Locale.ROOT, "snapshot-%010d", step);
        while (true) {
            try {
                Path done = writeOnce(name, files);
                retain(keep);
                return done;
            } catch (IOException e) {
                if (!noSpace(e) || !dropOldest(name)) {
                    throw e;
                }
                // room made: try again
            }
        }
    }

    private Path writeOnce(String name, Map<String, Content> files) throws IOException {
        Path tmp = folder.resolve("." + name + ".tmp");
        Debris.deleteTree(tmp);
        Files.createDirectory(tmp);
        try {
            List<Checksums.Entry> entries = new ArrayList<>();
            for (Map.Entry<String, Content> f : files.entrySet()) {
                if (!f.getKey().matches("[A-Za-z0-9][A-Za-z0-9._-]*") || f.getKey().equals(Checksums.FILE)) {
                    throw new IllegalArgumentException("'" + f.getKey() + "' cannot name a snapshot file");
                }
                entries.add(writeFile(tmp.resolve(f.getKey()), f.getValue()));
            }
            byte[] sums = Checksums.render(entries).getBytes(StandardCharsets.UTF_8);
            writeFile(tmp.resolve(Checksums.FILE), out -> out.write(sums));
            Path target = folder.resolve(name);
            Path old = null;
            if (Files.exists(target)) {
                old = folder.resolve("." + name + ".old.tmp");
                Debris.deleteTree(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            Debris.deleteTree(old);
            return target;
        } catch (IOException | RuntimeException e) {
            try {
                Debris.deleteTree(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private Checksums.Entry writeFile(Path file, Content content) throws IOException {
        MessageDigest md = Checksums.sha256();
        long[] bytes = {0};
        try (OutputStream raw = sink.open(file);
                OutputStream counted = new CountingStream(raw, bytes);
                DigestOutputStream out = new DigestOutputStream(new BufferedOutputStream(counted), md)) {
            content.write(out);
        }
        return new Checksums.Entry(file.getFileName().toString(), bytes[0], Checksums.hex(md.digest()));
    }

    /** Counts the bytes that reach the file. */
    private static final class CountingStream extends java.io.FilterOutputStream {
        private final long[] count;

        CountingStream(OutputStream out, long[] count) {
            super(out);
            this.count = count;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count[0]++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count[0] += len;
        }
    }

    /** @return step → folder of this run's complete snapshots (those with a {@code CHECKSUMS}), oldest first */
    public TreeMap<Long, Path> snapshots() throws IOException {
        return snapshots(folder);
    }

    static TreeMap<Long, Path> snapshots(Path runFolder) throws IOException {
        TreeMap<Long, Path> out = new TreeMap<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(runFolder)) {
            for (Path p : s) {
                Matcher m = SNAPSHOT.matcher(p.getFileName().toString());
                if (m.matches() && Files.isRegularFile(p.resolve(Checksums.FILE))) {
                    out.put(Long.parseLong(m.group(1)), p);
                }
            }
        }
        return out;
    }

    private void retain(int n) throws IOException {
        TreeMap<Long, Path> all = snapshots();
        while (all.size() > n) {
            delete(all.pollFirstEntry().getValue());
        }
    }

    /** Deletes the oldest snapshot to make room, never the newest; @return whether one was deleted */
    private boolean dropOldest(String writing) throws IOException {
        TreeMap<Long, Path> all = snapshots();
        all.values().removeIf(p -> p.getFileName().toString().equals(writing));
        if (all.size() <= 1) {
            return false;
        }
        delete(all.firstEntry().getValue());
        return true;
    }

    /** Renames a snapshot out of sight first, so that a crash mid-delete leaves debris, not half a snapshot. */
    private static void delete(Path snapshot) throws IOException {
        Path gone = snapshot.resolveSibling("." + snapshot.getFileName() + ".del.tmp");
        Debris.deleteTree(gone);
        Files.move(snapshot, gone, StandardCopyOption.ATOMIC_MOVE);
        Debris.deleteTree(gone);
    }

    /** @return whether a write failed for want of space (the device is full, or a quota reached) */
    static boolean noSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t instanceof FileSystemException f && f.getReason() != null ? f.getReason() : t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /** Releases the run folder's lock; the snapshots stay. */
    @Override
    public void close() throws IOException {
        LIVE.remove(key(folder));
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
        } finally {
            lockChannel.close();
        }
    }
}
