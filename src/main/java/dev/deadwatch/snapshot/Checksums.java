package dev.deadwatch.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code CHECKSUMS} file of a snapshot folder: a header line, one line per file
 * ({@code <sha-256> <bytes> <name>}), and a last line with the SHA-256 of every line above it, so
 * that a damaged {@code CHECKSUMS} is told apart from a damaged file it lists.
 */
final class Checksums {

    /** The file's name. */
    static final String FILE = "CHECKSUMS";
    /** Its first line: the snapshot format. */
    static final String HEADER = "deadwatch snapshot 1";

    private static final Pattern LINE = Pattern.compile("([0-9a-f]{64}) (0|[1-9][0-9]{0,18}) ([A-Za-z0-9][A-Za-z0-9._-]*)");
    private static final Pattern SELF = Pattern.compile("([0-9a-f]{64}) " + FILE);
    private static final int BUFFER = 1 << 16;

    private Checksums() {}

    /**
     * One file of a snapshot.
     *
     * @param name its name in the folder
     * @param bytes its size
     * @param sha256 its SHA-256, lower-case hex
     */
    record Entry(String name, long bytes, String sha256) {}

    /** @return the file's text for these entries */
    static String render(List<Entry> entries) {
        StringBuilder body = new StringBuilder(HEADER).append('\n');
        for (Entry e : entries) {
            body.append(e.sha256()).append(' ').append(e.bytes()).append(' ').append(e.name()).append('\n');
        }
        String self = hex(sha256().digest(body.toString().getBytes(StandardCharsets.UTF_8)));
        return body + self + " " + FILE + "\n";
    }

    /**
     * Reads and checks the {@code CHECKSUMS} of a folder.
     *
     * @param folder a snapshot folder
     * @return its entries
     * @throws SnapshotException naming {@code CHECKSUMS} when it is missing, malformed or damaged
     */
    static List<Entry> read(Path folder) throws SnapshotException {
        Path file = folder.resolve(FILE);
        String text;
        try {
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new SnapshotException(file, "missing: not a complete snapshot folder");
        } catch (IOException e) {
            throw new SnapshotException(file, "cannot be read (" + e + ")", e);
        }
        int last = text.lastIndexOf('\n', text.length() - 2);
        if (!text.endsWith("\n") || last < 0) {
            throw new SnapshotException(file, "damaged or truncated: it does not end with its own checksum line");
        }
        String body = text.substring(0, last + 1);
        Matcher self = SELF.matcher(text.substring(last + 1, text.length() - 1));
        if (!self.matches()) {
            throw new SnapshotException(file, "damaged or truncated: its last line is not '<sha-256> " + FILE + "'");
        }
        if (!hex(sha256().digest(body.getBytes(StandardCharsets.UTF_8))).equals(self.group(1))) {
            throw new SnapshotException(file, "damaged: its lines do not match their own SHA-256");
        }
        String[] lines = body.split("\n");
        if (!lines[0].equals(HEADER)) {
            throw new SnapshotException(file, "unknown format '" + lines[0] + "', expected '" + HEADER + "'");
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            Matcher m = LINE.matcher(lines[i]);
            if (!m.matches()) {
                throw new SnapshotException(file, "line " + (i + 1) + " is malformed: '" + lines[i] + "'");
            }
            out.add(new Entry(m.group(3), Long.parseLong(m.group(2)), m.group(1)));
        }
        return out;
    }

    /**
     * Checks every file {@code CHECKSUMS} lists: present, of its size, of its SHA-256.
     *
     * @param folder a snapshot folder
     * @return its entries
     * @throws SnapshotException naming the first file that is missing, truncated, longer or changed
     */
    static List<Entry> verify(Path folder) throws SnapshotException {
        List<Entry> entries = read(folder);
        for (Entry e : entries) {
            Path file = folder.resolve(e.name());
            long size;
            try {
                size = Files.size(file);
            } catch (NoSuchFileException x) {
                throw new SnapshotException(file, "missing (listed in " + FILE + ")");
            } catch (IOException x) {
                throw new SnapshotException(file, "cannot be read (" + x + ")", x);
            }
            if (size < e.bytes()) {
                throw new SnapshotException(file, "truncated: " + size + " of " + e.bytes() + " bytes");
            }
            if (size > e.bytes()) {
                throw new SnapshotException(file, "longer than written: " + size + " bytes, " + e.bytes() + " written");
            }
            String actual = digest(file);
            if (!actual.equals(e.sha256())) {
                throw new SnapshotException(file, "damaged: its SHA-256 is " + actual + ", " + e.sha256()
                        + " when written (same size: changed bytes)");
            }
        }
        return entries;
    }

    private static String digest(Path file) throws SnapshotException {
        MessageDigest md = sha256();
        byte[] buf = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        } catch (IOException x) {
            throw new SnapshotException(file, "cannot be read (" + x + ")", x);
        }
        return hex(md.digest());
    }

    /** @return a fresh SHA-256 digest */
    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** @return lower-case hex */
    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
