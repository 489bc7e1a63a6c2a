package dev.deadwatch.snapshot;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import com.google.gson.JsonParseException;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.export.Json;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Reads a snapshot back (docs/snapshots.md): {@link #open} verifies every file against
 * {@code CHECKSUMS} and parses {@code snapshot.json}; {@link #reread} loads the parameters into a
 * block of the model's architecture and runs the snapshot's reads again on its probe, as the live
 * monitor ran them. Every failure is a {@link SnapshotException} naming the file and what is wrong.
 */
public final class SnapshotReader {

    private SnapshotReader() {}

    /**
     * @param path a snapshot folder, or a run folder (its newest complete snapshot is taken)
     * @return the snapshot folder
     * @throws SnapshotException when there is none
     */
    public static Path locate(Path path) throws SnapshotException {
        if (!Files.isDirectory(path)) {
            throw new SnapshotException(path, Files.exists(path) ? "not a folder" : "no such folder");
        }
        if (Files.exists(path.resolve(Checksums.FILE)) || SnapshotWriter.SNAPSHOT.matcher(name(path)).matches()) {
            return path;
        }
        TreeMap<Long, Path> snapshots;
        List<String> runs = new ArrayList<>();
        try {
            snapshots = SnapshotWriter.snapshots(path);
            try (DirectoryStream<Path> s = Files.newDirectoryStream(path, Files::isDirectory)) {
                for (Path p : s) {
                    if (!SnapshotWriter.snapshots(p).isEmpty()) {
                        runs.add(name(p));
                    }
                }
            }
        } catch (IOException e) {
            throw new SnapshotException(path, "cannot be listed (" + e + ")", e);
        }
        if (!snapshots.isEmpty()) {
            return snapshots.lastEntry().getValue();
        }
        throw new SnapshotException(path, runs.isEmpty()
                ? "holds no complete snapshot (no snapshot-<step> folder with a " + Checksums.FILE + ")"
                : "holds the run folders " + runs.stream().sorted().collect(Collectors.joining(", "))
                        + ": give one of them, or one of their snapshot folders");
    }

    /**
     * Verifies a snapshot and reads its {@code snapshot.json}.
     *
     * @param path a snapshot folder, or a run folder (its newest complete snapshot)
     * @return the snapshot
     * @throws SnapshotException naming the file that is missing, truncated, changed or unreadable
     */
    public static Snapshot open(Path path) throws SnapshotException {
        Path folder = locate(path);
        Set<String> listed = Checksums.verify(folder).stream().map(Checksums.Entry::name).collect(Collectors.toSet());
        for (String f : Snapshot.FILES) {
            if (!listed.contains(f)) {
                throw new SnapshotException(folder.resolve(Checksums.FILE), "does not list " + f
                        + ": not a snapshot of format " + SnapshotInfo.FORMAT);
            }
        }
        Path file = folder.resolve(Snapshot.INFO);
        SnapshotInfo info;
        try {
            info = Json.gson().fromJson(Files.readString(file, StandardCharsets.UTF_8), SnapshotInfo.class);
        } catch (IOException | JsonParseException e) {
            throw new SnapshotException(file, "cannot be read as a snapshot description (" + e.getMessage() + ")", e);
        }
        if (info == null || info.format() != SnapshotInfo.FORMAT) {
            throw new SnapshotException(file, "is of snapshot format " + (info == null ? "none" : info.format())
                    + ", this build reads format " + SnapshotInfo.FORMAT);
        }
        try {
            info.readPrecision();
            info.metric();
        } catch (RuntimeException e) {
            throw new SnapshotException(file, "names an unknown precision or output metric (" + e.getMessage() + ")", e);
        }
        if (info.run() == null || info.exported() == null || info.step() < 0) {
            throw new SnapshotException(file, "lacks its run, step or exported numbers");
        }
        return new Snapshot(folder, info);
    }

    /**
     * Runs a snapshot's reads again: loads its parameters into a block of the model's architecture
     * (in the precision the live reads ran in, on a replica built as the live monitor builds it),
     * binds it to the saved probe, and runs the built-in reads with the snapshot's settings; the
     * order read when it ran live on this snapshot, or when asked for, without the live time limit
     * (the order read off line reads its whole sample).
     *
     * @param snapshot an opened snapshot
     * @param factory builds a fresh, uninitialized block of the model's architecture
     * @param order whether to run the order read even when it did not run live on this snapshot
     * @return the reads and the numbers the live monitor would export for them
     * @throws SnapshotException naming the file that cannot be decoded or does not fit the block
     */
    public static Reread reread(Snapshot snapshot, Supplier<Block> factory, boolean order) throws SnapshotException {
        SnapshotInfo info = snapshot.info();
        Precision precision = info.readPrecision();
        List<String> notes = new ArrayList<>();
        ReadSuite suite;
        try {
            suite = new ReadSuite(ReadSuite.defaults(info.maxRows(), info.createDetectors(), info.seed(), info.fisher(),
                    info.orderCandidates(), info.orderCandidatesTotal(), Double.POSITIVE_INFINITY),
                    ReadSuite.ReadObserver.NONE, info.featureAxes());
        } catch (IllegalArgumentException e) {
            throw new SnapshotException(snapshot.file(Snapshot.INFO), e.getMessage(), e);
        }
        Loss loss = info.createLoss();
        if (loss == null && info.loss() != null && info.fisher()) {
            notes.add("the training loss " + info.loss() + " has no no-argument constructor: the Fisher side is not read");
        }
        List<String> added = info.reads().stream().filter(r -> !suite.names().contains(r)).toList();
        if (!added.isEmpty()) {
            notes.add("added reads are not run again: " + String.join(", ", added));
        }
        if (info.epsDead() != Spectrum.EPS_DEAD || info.floor() != Spectrum.DEFAULT_FLOOR) {
            notes.add("written with eps_dead " + info.epsDead() + " and floor " + info.floor() + "; this build reads with "
                    + Spectrum.EPS_DEAD + " and " + Spectrum.DEFAULT_FLOOR);
        }
        if (info.version() != null && !info.version().equals(BuildInfo.currentVersion())) {
            notes.add("written by deadwatch " + info.version() + ", read by " + BuildInfo.currentVersion());
        }
        boolean withOrder = order || info.ran().contains(CensusRead.NAME);
        try (NDManager m = NDManager.newBaseManager()) {
            m.setName("deadwatch-snapshot-read");
            NDList inputs = decode(m, snapshot.file(Snapshot.INPUTS));
            NDList labels = decode(m, snapshot.file(Snapshot.LABELS));
            if (inputs.isEmpty() || inputs.head().getShape().dimension() == 0 || inputs.head().getShape().get(0) < 2) {
                throw new SnapshotException(snapshot.file(Snapshot.INPUTS), "holds no probe of at least 2 samples");
            }
            ProbeBatch probe = ProbeBatch.copyOf(m, inputs, labels);
            Shape[] shapes = probe.inputs().getShapes();
            Block block = load(snapshot.file(Snapshot.PARAMETERS), factory, m, precision, shapes);
            Replica replica = Replica.of(precision, factory, block, m, shapes);
            try (ModelProbe on = new ModelProbe(replica.block(), probe, precision, info.metric())) {
                ReadReport report = suite.read(on, info.step(), loss,
                        read -> withOrder || !CensusRead.NAME.equals(read), nanos -> true);
                Exported exported = new ExportedCounts(info.exported()).observe(report);
                return new Reread(info, report, exported, notes);
            }
        }
    }

    private static String name(Path p) {
        return p.getFileName() == null ? "" : p.getFileName().toString();
    }

    private static NDList decode(NDManager m, Path file) throws SnapshotException {
        try {
            return NDList.decode(m, Files.readAllBytes(file));
        } catch (IOException | RuntimeException e) {
            throw new SnapshotException(file, "cannot be decoded as arrays (" + e + ")", e);
        }
    }

    /**
     * A block of the factory's, in the given precision, holding the saved parameters; every
     * parameter's name, shape and type checked against what the block itself declares.
     */
    private static Block load(Path file, Supplier<Block> factory, NDManager m, Precision precision, Shape[] shapes)
            throws SnapshotException {
        Block block = factory.get();
        Map<String, Shape> declared = new LinkedHashMap<>();
        try {
            block.initialize(m, precision.dataType(), shapes);
            for (Pair<String, Parameter> p : block.getParameters()) {
                declared.put(p.getKey(), p.getValue().getArray().getShape());
            }
        } catch (RuntimeException e) {
            throw new SnapshotException(file, "cannot be loaded: the given model does not take the snapshot's probe ("
                    + e.getMessage() + ")", e);
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            block.loadParameters(m, in);
            if (in.read() >= 0) {
                throw new SnapshotException(file, "holds more parameters than the given model has: not this model's");
            }
        } catch (IOException | MalformedModelException | RuntimeException e) {
            if (e instanceof SnapshotException s) {
                throw s;
            }
            throw new SnapshotException(file, "does not hold the given model's parameters (" + e + ")", e);
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            NDArray a = p.getValue().getArray();
            Shape want = declared.get(p.getKey());
            if (!a.getShape().equals(want) || a.getDataType() != precision.dataType()) {
                throw new SnapshotException(file, "parameter " + p.getKey() + " is " + a.getDataType() + " " + a.getShape()
                        + " in the file, the given model's is " + precision + " " + want);
            }
        }
        return block;
    }
}
