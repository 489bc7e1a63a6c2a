package dev.deadwatch.detectors;

import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrbitPath;
import dev.deadwatch.order.Prediction;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.detectors.QueryKeyAttention;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The query–key rotation orbit (docs/method.md §3): rotating the query and key projections of each head
 * by the same rotation {@code e^{tS}} ({@code S} skew, block-diagonal over heads, unit
 * Frobenius norm) leaves every attention score unchanged. Predicted gauge. Reads any block
 * implementing {@link QueryKeyAttention}.
 */
public final class QueryKeyRotationDetector implements Detector {

    @Override
    public String name() {
        return "qk-rotation";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (Map.Entry<String, Block> e : ctx.paths().byPath().entrySet()) {
            if (e.getValue() instanceof QueryKeyAttention att) {
                out.add(candidate(ctx.probe(), e.getKey(), att));
            }
        }
        return out;
    }

    private static Candidate candidate(ModelProbe probe, String layer, QueryKeyAttention att) {
        Linear q = att.queryProjection();
        Linear k = att.keyProjection();
        Parameter wq = ParameterState.parameter(q, "weight");
        Parameter bq = ParameterState.parameter(q, "bias");
        Parameter wk = ParameterState.parameter(k, "weight");
        Parameter bk = ParameterState.parameter(k, "bias");
        int width = (int) wq.getArray().getShape().get(0);
        int in = (int) wq.getArray().getShape().get(1);
        int hd = width / att.heads();
        Random rnd = new Random(layer.hashCode());
        double[] s = new double[width * width];
        double norm = 0;
        for (int h = 0; h < att.heads(); h++) {
            for (int i = 0; i < hd; i++) {
                for (int j = i + 1; j < hd; j++) {
                    double v = rnd.nextGaussian();
                    int a = h * hd + i;
                    int b = h * hd + j;
                    s[a * width + b] = v;
                    s[b * width + a] = -v;
                    norm += 2 * v * v;
                }
            }
        }
        double n = Math.sqrt(norm);
        for (int i = 0; i < s.length; i++) {
            s[i] /= n;
        }
        double[] wq0 = probe.values(wq);
        double[] bq0 = probe.values(bq);
        double[] wk0 = probe.values(wk);
        double[] bk0 = probe.values(bk);
        List<Parameter> params = List.of(wq, bq, wk, bk);
        return new Candidate("qk-rotation", layer, new OrbitPath(params, t -> {
            double[] ts = s.clone();
            for (int i = 0; i < ts.length; i++) {
                ts[i] *= t;
            }
            double[] r = Matrices.expm(ts, width);
            return List.of(Matrices.multiply(r, wq0, width, width, in),
                    Matrices.multiply(r, bq0, width, width, 1),
                    Matrices.multiply(r, wk0, width, width, in),
                    Matrices.multiply(r, bk0, width, width, 1));
        }), Prediction.gauge());
    }
}
