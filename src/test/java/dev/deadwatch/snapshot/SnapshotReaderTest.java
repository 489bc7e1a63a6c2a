package dev.deadwatch.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.loss.L2Loss;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.export.Json;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.Side;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a snapshot written by hand: its settings, what is wrong with a bad one, named (issue 12, item 12). */
class SnapshotReaderTest {

    private static final int SAMPLES = 16;
    private static final int FEATURES = 4;

    @TempDir
    Path tmp;

    private static Block block(int hidden) {
        return new SequentialBlock().add(Linear.builder().setUnits(hidden).build()).add(Activation.reluBlock())
                .add(Linear.builder().setUnits(3).build());
    }

    private static SnapshotInfo info(int format, List<String> ran) {
        List<SnapshotInfo.DetectorSpec> detectors = Detector.defaults().stream().map(SnapshotInfo.DetectorSpec::of).toList();
        Exported none = new Exported(7, Map.of(), Map.of(), Map.of(), -1, Map.of(), Map.of(), Map.of());
        return new SnapshotInfo(format, "test", "run", "model", 7, "float64", "IDENTITY", L2Loss.class.getName(), 4096, 0,
                true, Spectrum.EPS_DEAD, Spectrum.DEFAULT_FLOOR, detectors, Map.of(),
                List.of("fisher", "layernorm", "batchnorm", "dds", "order"), ran, none, null, null);
    }

    /** Writes a snapshot of a freshly initialized block; {@code inputs} replaces the encoded probe inputs when given. */
    private Path write(Path out, SnapshotInfo info, byte[] inputs) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); SnapshotWriter w = SnapshotWriter.open(out, "run", 1)) {
            Block b = block(5);
            b.initialize(m, DataType.FLOAT64, new Shape(SAMPLES, FEATURES));
            m.getEngine().setRandomSeed(3);
            byte[] x = new NDList(m.randomNormal(new Shape(SAMPLES, FEATURES))).encode();
            byte[] y = new NDList(m.randomNormal(new Shape(SAMPLES, 3))).encode();
            Map<String, SnapshotWriter.Content> files = new LinkedHashMap<>();
            files.put(Snapshot.PARAMETERS, o -> {
                DataOutputStream d = new DataOutputStream(o);
                b.saveParameters(d);
                d.flush();
            });
            files.put(Snapshot.INPUTS, o -> o.write(inputs == null ? x : inputs));
            files.put(Snapshot.LABELS, o -> o.write(y));
            files.put(Snapshot.REPORT, o -> o.write("{}".getBytes(StandardCharsets.UTF_8)));
            files.put(Snapshot.INFO, o -> o.write(Json.gson().toJson(info).getBytes(StandardCharsets.UTF_8)));
            return w.write(info.step(), files);
        }
    }

    @Test
    void aSnapshotIsReadAgainWithItsOwnSettingsAndTheOrderReadOnlyWhenItRanOrIsAskedFor() throws Exception {
        Path folder = write(tmp.resolve("out"), info(SnapshotInfo.FORMAT, List.of("fisher", "layernorm", "dds")), null);
        Snapshot s = SnapshotReader.open(tmp.resolve("out/run"));
        assertThat(s.folder()).isEqualTo(folder);
        assertThat(s.info().createDetectors().stream().map(d -> d.getClass().getName()).toList())
                .isEqualTo(Detector.defaults().stream().map(d -> d.getClass().getName()).toList());
        Supplier<Block> factory = () -> block(5);
        Reread plain = SnapshotReader.reread(s, factory, false);
        ReadReport r = plain.report();
        assertThat(r.step()).isEqualTo(7);
        assertThat(r.seconds().keySet()).containsExactlyInAnyOrder("fisher", "dds"); // no norm here, no order read
        assertThat(r.dds()).extracting(d -> d.side()).contains(Side.ACTIVATION, Side.FISHER);
        assertThat(plain.exported().dead()).containsOnlyKeys("01Linear", "02LambdaBlock", "03Linear");
        assertThat(plain.exported().orderStep()).isEqualTo(-1);
        assertThat(plain.notes()).containsExactly("written by deadwatch test, read by "
                + dev.deadwatch.export.BuildInfo.currentVersion());
        Reread withOrder = SnapshotReader.reread(s, factory, true);
        assertThat(withOrder.report().orderRead()).isTrue();
        assertThat(withOrder.exported().orderStep()).isEqualTo(7);
    }

    @Test
    void aDetectorIsBuiltAgainWithItsSettings() {
        Detector d = SnapshotInfo.DetectorSpec.of(new BottomSubspaceDetector(1e-3, 7)).create();
        assertThat(d).isInstanceOf(BottomSubspaceDetector.class);
        assertThat(Json.gson().toJsonTree(d)).isEqualTo(Json.gson().toJsonTree(new BottomSubspaceDetector(1e-3, 7)))
                .isNotEqualTo(Json.gson().toJsonTree(new BottomSubspaceDetector()));
    }

    @Test
    void aFileThatMatchesItsChecksumButIsNoArrayIsNamed() throws Exception {
        write(tmp.resolve("out"), info(SnapshotInfo.FORMAT, List.of("dds")), new byte[] {7, 1, 2, 3, 4, 5});
        Snapshot s = SnapshotReader.open(tmp.resolve("out/run"));
        assertThatThrownBy(() -> SnapshotReader.reread(s, () -> block(5), false)).isInstanceOf(SnapshotException.class)
                .hasMessageStartingWith(s.file(Snapshot.INPUTS) + ": cannot be decoded as arrays");
    }

    @Test
    void parametersOfAnotherModelAreNamedNotLoaded() throws Exception {
        write(tmp.resolve("out"), info(SnapshotInfo.FORMAT, List.of("dds")), null);
        Snapshot s = SnapshotReader.open(tmp.resolve("out/run"));
        assertThatThrownBy(() -> SnapshotReader.reread(s, () -> block(6), false)).isInstanceOf(SnapshotException.class)
                .hasMessageStartingWith(s.file(Snapshot.PARAMETERS) + ": parameter 01Linear_weight is float64 (5, 4) in the file,"
                        + " the given model's is float64 (6, 4)");
        assertThatThrownBy(() -> SnapshotReader.reread(s, () -> new SequentialBlock().add(Linear.builder().setUnits(5).build()),
                false)).hasMessageStartingWith(s.file(Snapshot.PARAMETERS) + ": holds more parameters than the given model has");
    }

    @Test
    void anotherFormatOrAFolderWithoutSnapshotsIsNamed() throws Exception {
        write(tmp.resolve("other"), info(SnapshotInfo.FORMAT + 1, List.of()), null);
        assertThatThrownBy(() -> SnapshotReader.open(tmp.resolve("other/run")))
                .hasMessageEndingWith("snapshot.json: is of snapshot format 2, this build reads format 1");
        assertThatThrownBy(() -> SnapshotReader.open(tmp.resolve("other")))
                .hasMessage(tmp.resolve("other") + ": holds the run folders run: give one of them, or one of their snapshot folders");
        assertThatThrownBy(() -> SnapshotReader.open(tmp.resolve("nowhere"))).hasMessage(tmp.resolve("nowhere") + ": no such folder");
    }

    @Test
    void differencesWithTheLiveExportAreListed() {
        Exported live = new Exported(7, Map.of("01Linear", 2), Map.of("01Linear", 0), Map.of("01Linear", 0), 5,
                Map.of("01Linear", "3,3"), Map.of("01Linear", 2), Map.of());
        Exported again = new Exported(7, Map.of("01Linear", 1), Map.of("01Linear", 0), Map.of("01Linear", 0), 5,
                Map.of("01Linear", "3"), Map.of("01Linear", 1), Map.of());
        SnapshotInfo i = info(SnapshotInfo.FORMAT, List.of());
        SnapshotInfo withLive = new SnapshotInfo(i.format(), i.version(), i.run(), i.model(), i.step(), i.precision(),
                i.outputMetric(), i.loss(), i.maxRows(), i.seed(), i.fisher(), i.epsDead(), i.floor(), i.detectors(),
                i.featureAxes(), i.reads(), i.ran(), live, i.orderCandidates(), i.orderCandidatesTotal());
        ReadReport empty = new ReadReport(7, List.of(), Set.of(), Map.of());
        assertThat(new Reread(withLive, empty, again, List.of()).differences()).containsExactly(
                "dead: exported {01Linear=2}, read again {01Linear=1}", "orders: exported {01Linear=3,3}, read again {01Linear=3}");
        assertThat(new Reread(withLive, empty, live, List.of()).differences()).isEmpty();
    }
}
