package dev.deadwatch.snapshot;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** What crashed snapshot writers leave behind, and removing it (docs/snapshots.md). */
final class Debris {

    /** Debris a crashed writer leaves: snapshot folders being written, replaced or deleted. */
    private static final Pattern DEBRIS = Pattern.compile("\\.snapshot-\\d+\\.(old\\.|del\\.)?tmp");
    /** Debris of the flat layout before this one (temporary files next to the snapshot files). */
    private static final Pattern FLAT_DEBRIS = Pattern.compile("\\.(snapshot-\\d+\\.(params|json)|probe\\.ndlist).*\\.tmp");

    private Debris() {}

    /**
     * Removes the debris of crashed writers under {@code out}: in every run folder whose writer is
     * gone (its lock is free), the {@code .tmp} folders and any snapshot folder without its
     * {@code CHECKSUMS}; and the temporary files of the flat layout before this one.
     */
    static void sweep(Path out) throws IOException {
        List<Path> runs = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(out)) {
            for (Path p : s) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    runs.add(p);
                } else if (FLAT_DEBRIS.matcher(p.getFileName().toString()).matches()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        for (Path run : runs) {
            try {
                sweepRun(run);
            } catch (IOException | OverlappingFileLockException e) {
                // best effort: a run folder that cannot be swept now is swept at a later start
            }
        }
    }

    private static void sweepRun(Path run) throws IOException {
        List<Path> debris = SnapshotWriter.live(run) ? List.of() : debris(run);
        if (debris.isEmpty()) {
            return;
        }
        Path lockFile = run.resolve(SnapshotWriter.LOCK);
        if (!Files.exists(lockFile)) {
            for (Path d : debris) {
                deleteTree(d);
            }
            return;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return; // another process writes there
            }
            try {
                for (Path d : debris) {
                    deleteTree(d);
                }
            } finally {
                l.release();
            }
        }
    }

    private static List<Path> debris(Path run) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(run)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (DEBRIS.matcher(n).matches()
                        || (SnapshotWriter.SNAPSHOT.matcher(n).matches() && !Files.exists(p.resolve(Checksums.FILE)))) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
