package dev.deadwatch.cells;

import static dev.deadwatch.cells.CellContext.SEED;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.blocks.PowerCell;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.NodeDeathDetector;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The order-read cells of docs/method.md §6: the power cells
 * {@code y = a·sᵏ·x} (order {@code k} along {@code s}) and the MLP cells Linear → activation →
 * Linear with one dead hidden unit (node death, found by {@link NodeDeathDetector}, in the axis
 * basis and with the hidden units permuted; the outgoing-only direction, order 1; the
 * incoming-only direction, a gauge).
 */
final class OrderCells {

    private static final int HIDDEN = 8;
    private static final int DEAD_UNIT = 2;

    private final CellContext cx;

    OrderCells(CellContext cx) {
        this.cx = cx;
    }

    void power(int k) {
        try (CellModel m = cx.model(() -> new PowerCell(k, false), new Shape(32, 2), OutputMetric.IDENTITY,
                b -> { })) {
            Parameter s = m.param("s");
            Candidate c = new Candidate("s", "cell", new StraightPath(List.of(s),
                    List.of(new double[] {0}), List.of(new double[] {1})),
                    Prediction.order(k));
            OrderResult r = cx.orderRead().read(m.probe, c);
            cx.orderRow("y=a*s^" + k + "*x", "axis", k, r);
        }
    }

    void nodeDeath(String act, boolean rotated) {
        String variant = rotated ? "rotated" : "axis";
        try (CellModel m = cx.model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY, b -> {
            kill(b, DEAD_UNIT, true, true);
            if (rotated) {
                permuteHidden(b, SEED + act.hashCode());
            }
        })) {
            List<Candidate> cands = new NodeDeathDetector().detect(new DetectorContext(m.probe));
            String cell = "mlp node death (" + act + ")";
            if (cands.size() != 1) {
                cx.add(new CellResult(cell, variant, cx.precision().toString(), "candidates", "1",
                        Integer.toString(cands.size()), "exact", false));
                return;
            }
            cx.orderRow(cell, variant, activationOrder(act), cx.orderRead().read(m.probe, cands.get(0)));
        }
    }

    void outgoingOnly(String act) {
        try (CellModel m = cx.model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY,
                b -> kill(b, DEAD_UNIT, false, true))) {
            Parameter w2 = m.childParam(2, "weight");
            double[] base = ParameterState.values(w2);
            double[] dir = new double[base.length];
            Random rnd = new Random(SEED);
            for (int r = 0; r < base.length / HIDDEN; r++) {
                dir[r * HIDDEN + DEAD_UNIT] = rnd.nextGaussian();
            }
            Candidate c = new Candidate("outgoing", "cell",
                    new StraightPath(List.of(w2), List.of(base), List.of(dir)), Prediction.order(1));
            cx.orderRow("mlp outgoing only (" + act + ")", "axis", 1, cx.orderRead().read(m.probe, c));
        }
    }

    void incomingOnly(String act) {
        try (CellModel m = cx.model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY,
                b -> kill(b, DEAD_UNIT, true, true))) {
            Parameter w1 = m.childParam(0, "weight");
            double[] base = ParameterState.values(w1);
            double[] dir = new double[base.length];
            int inDim = base.length / HIDDEN;
            Random rnd = new Random(SEED);
            for (int k = 0; k < inDim; k++) {
                dir[DEAD_UNIT * inDim + k] = rnd.nextGaussian();
            }
            Candidate c = new Candidate("incoming", "cell",
                    new StraightPath(List.of(w1), List.of(base), List.of(dir)), Prediction.gauge());
            cx.gaugeRow("mlp incoming only (" + act + ")", "axis", cx.orderRead().read(m.probe, c));
        }
    }

    // ---------------------------------------------------------------- the MLP cell

    private static Block activation(String name) {
        return switch (name) {
            case "relu" -> Activation.reluBlock();
            case "gelu" -> Activation.geluBlock();
            case "tanh" -> Activation.tanhBlock();
            case "relu2" -> new LambdaBlock(l -> new NDList(Activation.relu(l.head()).square()), "ReLU2");
            default -> throw new IllegalArgumentException("unknown activation " + name);
        };
    }

    private static int activationOrder(String act) {
        return act.equals("relu2") ? 3 : 2;
    }

    private Supplier<Block> mlp(String act) {
        return () -> new SequentialBlock()
                .add(Linear.builder().setUnits(HIDDEN).build())
                .add(activation(act))
                .add(Linear.builder().setUnits(3).build());
    }

    /** Zeroes unit {@code j}'s incoming row and bias and (if {@code out}) outgoing column. */
    private static void kill(Block seq, int j, boolean in, boolean out) {
        MlpWeights m = MlpWeights.of(seq);
        double[] a = m.incoming();
        double[] b = m.bias();
        double[] c = m.outgoing();
        int inDim = a.length / HIDDEN;
        if (in) {
            for (int k = 0; k < inDim; k++) {
                a[j * inDim + k] = 0;
            }
            b[j] = 0;
        } else {
            b[j] = 0.3;
        }
        if (out) {
            for (int r = 0; r < c.length / HIDDEN; r++) {
                c[r * HIDDEN + j] = 0;
            }
        }
        m.write(a, b, c);
    }

    /** Permutes the hidden units of an MLP: the function is unchanged. */
    private static void permuteHidden(Block seq, long seed) {
        MlpWeights m = MlpWeights.of(seq);
        double[] a = m.incoming();
        double[] b = m.bias();
        double[] c = m.outgoing();
        int[] perm = permutation(HIDDEN, new Random(seed));
        int inDim = a.length / HIDDEN;
        int outDim = c.length / HIDDEN;
        double[] pa = new double[a.length];
        double[] pb = new double[b.length];
        double[] pc = new double[c.length];
        for (int j = 0; j < HIDDEN; j++) {
            int to = perm[j];
            System.arraycopy(a, j * inDim, pa, to * inDim, inDim);
            pb[to] = b[j];
            for (int r = 0; r < outDim; r++) {
                pc[r * HIDDEN + to] = c[r * HIDDEN + j];
            }
        }
        m.write(pa, pb, pc);
    }

    /**
     * The hidden unit's parameters of a Linear → activation → Linear cell.
     *
     * @param w1 incoming weight (hidden × in)
     * @param b1 incoming bias
     * @param w2 outgoing weight (out × hidden)
     */
    private record MlpWeights(Parameter w1, Parameter b1, Parameter w2) {
        static MlpWeights of(Block seq) {
            List<Block> kids = dev.deadwatch.capture.BlockPaths.children(seq);
            return new MlpWeights(ParameterState.parameter(kids.get(0), "weight"),
                    ParameterState.parameter(kids.get(0), "bias"), ParameterState.parameter(kids.get(2), "weight"));
        }

        double[] incoming() {
            return ParameterState.values(w1);
        }

        double[] bias() {
            return ParameterState.values(b1);
        }

        double[] outgoing() {
            return ParameterState.values(w2);
        }

        void write(double[] incoming, double[] bias, double[] outgoing) {
            ParameterState.write(w1.getArray(), incoming);
            ParameterState.write(b1.getArray(), bias);
            ParameterState.write(w2.getArray(), outgoing);
        }
    }

    private static int[] permutation(int n, Random rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        if (p[DEAD_UNIT] == DEAD_UNIT) { // make sure the dead unit really moves
            int t = p[DEAD_UNIT];
            p[DEAD_UNIT] = p[(DEAD_UNIT + 1) % n];
            p[(DEAD_UNIT + 1) % n] = t;
        }
        return p;
    }
}
