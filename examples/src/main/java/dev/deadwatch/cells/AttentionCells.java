package dev.deadwatch.cells;

import static dev.deadwatch.cells.CellContext.SEED;

import ai.djl.ndarray.types.Shape;
import dev.deadwatch.blocks.SelfAttention;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.QueryKeyRotationDetector;
import dev.deadwatch.order.Candidate;
import java.util.List;

/**
 * The attention cell of docs/method.md §6: a self-attention block whose
 * query-key rotation orbit ({@link QueryKeyRotationDetector}) the order read must class a gauge,
 * in the axis basis and with the query and key projections rotated.
 */
final class AttentionCells {

    private final CellContext cx;

    AttentionCells(CellContext cx) {
        this.cx = cx;
    }

    void queryKey(boolean rotated) {
        String variant = rotated ? "rotated" : "axis";
        try (CellModel m = cx.model(() -> new SelfAttention(8, 2, false), new Shape(16, 5, 8),
                OutputMetric.IDENTITY, b -> {
                    if (rotated) {
                        SelfAttention att = (SelfAttention) b;
                        CellContext.rotateOutputs(att.queryProjection(), SEED + 3);
                        CellContext.rotateOutputs(att.keyProjection(), SEED + 4);
                    }
                })) {
            List<Candidate> cands = new QueryKeyRotationDetector().detect(new DetectorContext(m.probe));
            cx.gaugeRow("query-key rotation orbit", variant, cx.orderRead().read(m.probe, cands.get(0)));
        }
    }
}
