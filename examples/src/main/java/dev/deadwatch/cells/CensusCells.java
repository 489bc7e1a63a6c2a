package dev.deadwatch.cells;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.deadwatch.blocks.PowerCell;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.census.Census;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The census cells of docs/method.md §6: {@code y = b·x₁ + a·sᵏ·x₂}, whose
 * learning coefficient {@code λ = 1/2 + 1/(2k)} the census must recover exactly from the order
 * reads of {@code a}, {@code b}, {@code s} and the Fisher block rank ({@link FisherBlockRank}).
 */
final class CensusCells {

    private final CellContext cx;

    CensusCells(CellContext cx) {
        this.cx = cx;
    }

    void census(int k) {
        try (CellModel m = cx.model(() -> new PowerCell(k, true), new Shape(64, 2), OutputMetric.IDENTITY,
                b -> { })) {
            List<OrderResult> reads = new ArrayList<>();
            for (String name : List.of("a", "b", "s")) {
                Parameter p = m.param(name);
                double[] base = ParameterState.values(p);
                reads.add(cx.orderRead().read(m.probe, new Candidate(name, "cell",
                        new StraightPath(List.of(p), List.of(base), List.of(new double[] {1})),
                        Prediction.none())));
            }
            int regular = FisherBlockRank.of(m.probe, List.of(m.param("a"), m.param("b"), m.param("s")));
            Census c = Census.of("cell", reads, OptionalInt.of(regular));
            double expected = 0.5 + 1.0 / (2 * k);
            cx.add(new CellResult("census y=b*x1+a*s^" + k + "*x2", "axis", cx.precision().toString(),
                    "lambda", String.format(Locale.ROOT, "%.6f", expected),
                    String.format(Locale.ROOT, "%.6f (a:%s b:%s s:%s)", c.lambdaHat(),
                            reads.get(0).orderLabel(), reads.get(1).orderLabel(), reads.get(2).orderLabel()),
                    "exact", Math.abs(c.lambdaHat() - expected) <= Cells.CENSUS_TOLERANCE));
        }
    }
}
