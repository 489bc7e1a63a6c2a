package dev.deadwatch.minilm;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import dev.deadwatch.reads.LayerNormRead;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The LayerNorm gauge (docs/method.md §1) of the MiniLM norms whose consumer is not their next
 * sibling, which the built-in {@code LayerNormKernelDetector} (sibling {@code norm → Linear})
 * cannot see: the embeddings' norm and each layer's output norm feed the next layer's query
 * projection, and in the classifier the last norm feeds the head through the mean over tokens
 * (an average of points on the norm's hyperplane lies on it). The path is the same as the
 * built-in one, on the consumer: {@code W(t) = W + t r uᵀ}, {@code b(t) = b − t r (u·β)},
 * {@code u = γ⁻¹/‖γ⁻¹‖}, {@code r = Wu/‖Wu‖}. Predicted gauge. The norm after the attention feeds
 * its sibling {@code intermediate}: the built-in detector covers it, so it is not proposed here.
 */
public final class NormGaugeDetector implements Detector {

    @Override
    public String name() {
        return "layernorm-kernel-consumer";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (Map.Entry<String, Block> e : ctx.paths().byPath().entrySet()) {
            if (e.getValue() instanceof MiniLm m) {
                List<BertLayer> layers = m.layers();
                add(ctx, out, m.embeddings().norm(), layers.isEmpty() ? null : layers.get(0).attention().queryProjection());
                for (int i = 0; i + 1 < layers.size(); i++) {
                    add(ctx, out, layers.get(i).outputNorm(), layers.get(i + 1).attention().queryProjection());
                }
            } else if (e.getValue() instanceof MiniLmClassifier c && !c.encoder().layers().isEmpty()) {
                List<BertLayer> layers = c.encoder().layers();
                add(ctx, out, layers.get(layers.size() - 1).outputNorm(), c.head());
            }
        }
        return out;
    }

    private static void add(DetectorContext ctx, List<Candidate> out, LayerNorm norm, Linear consumer) {
        if (consumer == null) {
            return;
        }
        Candidate c = candidate(ctx.paths().pathOf(norm), norm, consumer);
        if (c != null) {
            out.add(c);
        }
    }

    static Candidate candidate(String layer, LayerNorm norm, Linear consumer) {
        double[] u = LayerNormRead.inverseScale(ParameterState.values(ParameterState.parameter(norm, "gamma")));
        if (u == null) {
            return null;
        }
        double[] beta = ParameterState.values(ParameterState.parameter(norm, "beta"));
        Parameter w = ParameterState.parameter(consumer, "weight");
        Parameter b = ParameterState.parameter(consumer, "bias");
        double[] wv = ParameterState.values(w);
        int rows = (int) w.getArray().getShape().get(0);
        int cols = (int) w.getArray().getShape().get(1);
        if (cols != u.length) {
            return null;
        }
        double ub = Matrices.dot(u, beta);
        double[] r = Matrices.multiply(wv, u, rows, cols, 1);
        double rn = Matrices.norm(r);
        for (int i = 0; i < rows; i++) {
            r[i] = rn == 0 ? (i == 0 ? 1 : 0) : r[i] / rn;
        }
        double[] db = new double[rows];
        for (int i = 0; i < rows; i++) {
            db[i] = -r[i] * ub;
        }
        return new Candidate("layernorm-kernel", layer, new StraightPath(List.of(w, b),
                List.of(wv, ParameterState.values(b)), List.of(Matrices.outer(r, u), db)), Prediction.gauge());
    }
}
