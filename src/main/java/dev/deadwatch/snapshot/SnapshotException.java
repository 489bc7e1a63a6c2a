package dev.deadwatch.snapshot;

import java.io.IOException;
import java.nio.file.Path;

/** A snapshot that cannot be read: the message names the file and what is wrong with it. */
public final class SnapshotException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The file at fault. */
    private final transient Path file;

    /**
     * @param file the file at fault (or the folder, when the folder itself is)
     * @param what what is wrong with it
     */
    public SnapshotException(Path file, String what) {
        super(file + ": " + what);
        this.file = file;
    }

    /**
     * @param file the file at fault
     * @param what what is wrong with it
     * @param cause the failure behind it
     */
    public SnapshotException(Path file, String what, Throwable cause) {
        super(file + ": " + what, cause);
        this.file = file;
    }

    /** @return the file at fault */
    public Path file() {
        return file;
    }
}
