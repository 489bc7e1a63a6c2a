package dev.deadwatch.minilm;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.census.Census;
import dev.deadwatch.examples.ProcessMemory;
import dev.deadwatch.examples.ProgressBar;
import dev.deadwatch.examples.Settings;
import dev.deadwatch.examples.TrainingLoop;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What {@link MiniLmDemo} writes and prints: the LayerNorm table, dds.csv, order.csv, the summary and resource figures. */
final class MiniLmReport {

    private MiniLmReport() {}

    /**
     * @param norms the norm reads
     * @return a table: checkpoint name, {@code min|γ|}, {@code q}, alignment, kernel
     */
    public static String normTable(List<FrozenRead.NormRow> norms) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-44s %10s %11s %11s %s%n",
                "LayerNorm", "min|γ|", "q", "alignment", "kernel"));
        for (FrozenRead.NormRow r : norms) {
            LayerNormResult n = r.read();
            sb.append(String.format(Locale.ROOT, "%-44s %10.3e %11.2e %11.9f %s%n", r.name(), n.gammaMinAbs(),
                    n.rayleigh(), n.alignment(), n.kernel() ? "yes" : "no"));
        }
        return sb.toString();
    }

    static void writeDds(Path file, List<DdsResult> dds) throws IOException {
        StringBuilder sb = new StringBuilder("layer,side,rows,width,total,unresolved,norm_kernel,input_rank,inherited,dead,D_1e-2,D_1e-3,D_1e-4,D_1e-6,effective_rank\n");
        for (DdsResult d : dds) {
            double[] p = d.profile();
            sb.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%.2f,%.2f,%.2f,%.2f,%.1f%n", d.layer(),
                    d.side(), d.rows(), d.dimension(), d.total(), d.unresolved(), d.structure().normKernel(),
                    d.structure().inputRank(), d.structure().inherited(), d.deadCount(), p[0], p[1], p[2], p[3],
                    d.effectiveRank()));
        }
        Files.writeString(file, sb, StandardCharsets.UTF_8);
    }

    static void writeOrders(Path file, List<OrderResult> orders) throws IOException {
        StringBuilder sb = new StringBuilder("layer,candidate,predicted,classification,k_hat,order,log10_relative_fisher\n");
        for (OrderResult o : orders) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%s,%.3f,%d,%.2f%n", o.layer(), o.candidate(),
                    o.predicted().label(), o.classification(), o.kHat(), o.order(), o.magnitudeLog10()));
        }
        Files.writeString(file, sb, StandardCharsets.UTF_8);
    }

    static String counts(Map<String, List<Candidate>> found) {
        StringBuilder sb = new StringBuilder();
        found.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(v.size()));
        return sb.toString();
    }

    /**
     * @param r the result
     * @return what the demo measured, as text
     */
    static String summary(MiniLmDemo.Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "import check: %d sentences, max abs diff %.2e (float32), %.2e (float64), tolerance %.0e%n%n",
                r.check().sentences(), r.check().maxAbsDiff32(), r.check().maxAbsDiff64(), MiniLmDemo.IMPORT_TOLERANCE));
        sb.append("frozen read, float64 replica, probe ").append(MiniLmDemo.PROBE_SEQUENCES).append(" × ").append(MiniLmDemo.PROBE_WORDS + 2)
                .append(" tokens of random words:\n").append(normTable(r.norms()));
        if (!r.norms32().isEmpty()) {
            sb.append("\nthe same in float32:\n").append(normTable(r.norms32()));
        }
        sb.append("\nDDS, activation side (dead / structural / unresolved):\n");
        for (DdsResult d : r.dds()) {
            sb.append(String.format(Locale.ROOT, "  %-36s %4d / %4d / %4d   D(1e-3)=%.1f D(1e-4)=%.1f D(1e-6)=%.1f%n", d.layer(),
                    d.deadCount(), d.structure().total(), d.unresolved(), d.profile()[1], d.profile()[2], d.profile()[3]));
        }
        sb.append("\ncandidates by detector: ").append(counts(r.candidates())).append('\n');
        for (OrderResult o : r.orders()) {
            sb.append("  ").append(o.layer()).append(' ').append(o.candidate()).append(": ").append(o.summary()).append('\n');
        }
        sb.append(String.format(Locale.ROOT, "%nfine-tuning: validation accuracy %.3f before, %.3f after%n",
                r.validationAccuracy()[0], r.validationAccuracy()[1]));
        for (ReadReport rep : r.live()) {
            List<LayerNormResult> ln = rep.layerNorms();
            long kernels = ln.stream().filter(LayerNormResult::kernel).count();
            double maxQ = ln.stream().mapToDouble(LayerNormResult::rayleigh).max().orElse(Double.NaN);
            int deadA = 0;
            int deadF = 0;
            for (DdsResult d : rep.dds()) {
                if (d.deadCount() > 0) {
                    if (d.side() == dev.deadwatch.reads.Side.FISHER) {
                        deadF += d.deadCount();
                    } else {
                        deadA += d.deadCount();
                    }
                }
            }
            sb.append(String.format(Locale.ROOT, "  step %3d: LayerNorm kernels %d/%d (max q %.1e), spectral dead: activation %d, Fisher %d",
                    rep.step(), kernels, ln.size(), maxQ, deadA, deadF));
            Map<String, Census> census = rep.census();
            if (!census.isEmpty()) {
                sb.append("; order read:");
                rep.orders().forEach(o -> sb.append(' ').append(o.candidate()).append('=').append(o.orderLabel()));
            }
            sb.append(String.format(Locale.ROOT, " (%.1f s)%n", rep.seconds().values().stream().mapToDouble(Double::doubleValue).sum()));
        }
        sb.append("\ncosts:\n");
        r.costs().forEach((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
        return sb.toString();
    }

    static String secs(long t0) {
        return String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9);
    }

    static String rss() {
        return ProcessMemory.megabytes("VmRSS");
    }

    static String peakRss() {
        return ProcessMemory.megabytes("VmHWM");
    }

}
