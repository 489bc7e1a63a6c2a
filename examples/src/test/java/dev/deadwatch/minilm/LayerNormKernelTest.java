package dev.deadwatch.minilm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.LayerNormRead;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The paper's claim on a real pretrained transformer: every LayerNorm of all-MiniLM-L6-v2 (the
 * embeddings' and two per layer, 13) has the exact inverse-scale kernel {@code u = γ⁻¹/‖γ⁻¹‖}.
 * Read on the float32 model itself, on 48 sequences of 16 random words (768 rows, twice the
 * norms' width).
 */
class LayerNormKernelTest {

    /** Alignment of {@code u} with the bottom eigenspace: 1 up to float32 rounding. */
    private static final double ALIGNMENT_TOLERANCE = 1e-6;
    /** {@code q} in float32 is about 1e-14 (docs/method.md §1); a missing kernel reads about 1. */
    private static final double FLOAT32_Q = 1e-12;

    @Test
    void everyLayerNormHasTheExactKernel(@TempDir Path dir) throws Exception {
        MiniLm model = Pretrained.model();
        long[][] ids = Sentences.wordSalad(48, MiniLmDemo.PROBE_WORDS, 3);
        try (NDManager m = Pretrained.manager().newSubManager();
                ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(FrozenRead.idArray(m, ids)), null);
                ModelProbe mp = new ModelProbe(model, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
            ReadSuite suite = new ReadSuite(List.of(new LayerNormRead(FrozenRead.MAX_ROWS, Spectrum.EPS_DEAD)),
                    ReadSuite.ReadObserver.NONE);
            ReadReport report = suite.read(mp, 0, null);
            List<FrozenRead.NormRow> rows = FrozenRead.norms(model, model, report);
            assertThat(rows).extracting(FrozenRead.NormRow::name).containsExactly("embeddings.LayerNorm",
                    "encoder.layer.0.attention.output.LayerNorm", "encoder.layer.0.output.LayerNorm",
                    "encoder.layer.1.attention.output.LayerNorm", "encoder.layer.1.output.LayerNorm",
                    "encoder.layer.2.attention.output.LayerNorm", "encoder.layer.2.output.LayerNorm",
                    "encoder.layer.3.attention.output.LayerNorm", "encoder.layer.3.output.LayerNorm",
                    "encoder.layer.4.attention.output.LayerNorm", "encoder.layer.4.output.LayerNorm",
                    "encoder.layer.5.attention.output.LayerNorm", "encoder.layer.5.output.LayerNorm");
            assertThat(rows).hasSize(model.config().layerNorms());
            for (FrozenRead.NormRow r : rows) {
                assertThat(r.read().kernel()).as(r.name()).isTrue();
                assertThat(r.read().normKind()).as(r.name()).isEqualTo("mean-subtracting");
                assertThat(Math.abs(r.read().rayleigh())).as(r.name()).isLessThan(FLOAT32_Q);
                assertThat(r.read().alignment()).as(r.name()).isGreaterThan(1 - ALIGNMENT_TOLERANCE);
                assertThat(r.read().width()).isEqualTo(384);
                assertThat(r.read().gammaMinAbs()).as(r.name()).isEqualTo(
                        minAbs(Pretrained.checkpoint().weights().get(r.name() + ".weight").values()));
            }
            // the demo's DIR/layernorm.csv: a header and one row per LayerNorm, as read
            Path csv = dir.resolve("layernorm.csv");
            FrozenRead.writeCsv(csv, rows);
            List<String> lines = Files.readAllLines(csv);
            assertThat(lines.get(0)).isEqualTo("layer,min_gamma,q,alignment,kernel");
            assertThat(lines).hasSize(1 + 13);
            for (int i = 0; i < rows.size(); i++) {
                String[] f = lines.get(i + 1).split(",");
                assertThat(f).hasSize(5);
                assertThat(f[0]).isEqualTo(rows.get(i).name());
                assertThat(Double.parseDouble(f[1])).isCloseTo(rows.get(i).read().gammaMinAbs(), withinPercentage(1e-3));
                assertThat(Math.abs(Double.parseDouble(f[2]))).isLessThan(FLOAT32_Q);
                assertThat(Double.parseDouble(f[3])).isGreaterThan(1 - ALIGNMENT_TOLERANCE);
                assertThat(f[4]).isEqualTo("yes");
            }
        }
    }

    private static double minAbs(float[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (float x : v) {
            m = Math.min(m, Math.abs(x));
        }
        return m;
    }
}
