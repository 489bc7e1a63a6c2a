package dev.deadwatch.cells;

import static dev.deadwatch.cells.CellContext.SEED;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.blocks.RmsNorm;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.LayerNormKernelDetector;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.reads.LayerNormRead;
import dev.deadwatch.reads.LayerNormResult;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The normalization cells of docs/method.md §6: LayerNorm → Linear, whose
 * mean-subtraction kernel the LayerNorm read must find (Rayleigh quotient, alignment with the
 * bottom eigenvector) and whose kernel path the order read must class a gauge, in the axis basis
 * and with the Linear's outputs rotated; and RMSNorm → Linear, which has no such kernel.
 */
final class NormCells {

    private static final int NORM_WIDTH = 8;

    private final CellContext cx;

    NormCells(CellContext cx) {
        this.cx = cx;
    }

    void layerNorm(boolean rotated) {
        Supplier<Block> f = () -> new SequentialBlock().add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(6).build());
        String variant = rotated ? "rotated" : "axis";
        try (CellModel m = cx.model(f, new Shape(256, NORM_WIDTH), OutputMetric.IDENTITY, b -> {
            randomNormParams(b, true);
            if (rotated) {
                CellContext.rotateOutputs(dev.deadwatch.capture.BlockPaths.children(b).get(1), SEED + 1);
            }
        })) {
            String norm = m.probe.paths().pathsOf(LayerNorm.class).get(0);
            LayerNormResult r = normRead(m, norm);
            String precision = cx.precision().toString();
            cx.add(new CellResult("layernorm kernel", variant, precision, "q",
                    "< 1e-6", sci(r.rayleigh()), "< 1e-6", r.rayleigh() < LayerNormRead.KERNEL_RAYLEIGH));
            cx.add(new CellResult("layernorm kernel", variant, precision, "alignment",
                    ">= 0.9999", String.format(Locale.ROOT, "%.6f", r.alignment()), ">= 0.9999",
                    r.alignment() >= Cells.MIN_ALIGNMENT));
            List<Candidate> cands = new LayerNormKernelDetector().detect(new DetectorContext(m.probe));
            cx.gaugeRow("layernorm kernel path", variant, cx.orderRead().read(m.probe, cands.get(0)));
        }
    }

    void rmsNorm() {
        Supplier<Block> f = () -> new SequentialBlock().add(new RmsNorm())
                .add(Linear.builder().setUnits(6).build());
        try (CellModel m = cx.model(f, new Shape(256, NORM_WIDTH), OutputMetric.IDENTITY,
                b -> randomNormParams(b, false))) {
            String norm = m.probe.paths().pathsOf(RmsNorm.class).get(0);
            LayerNormResult r = normRead(m, norm);
            cx.add(new CellResult("rmsnorm (no kernel)", "axis", cx.precision().toString(), "q",
                    "order 1", sci(r.rayleigh()), "> 1e-2",
                    r.rayleigh() > Cells.NO_KERNEL_RAYLEIGH && !r.kernel()));
        }
    }

    private LayerNormResult normRead(CellModel m, String path) {
        Block norm = m.probe.paths().blockAt(path);
        double[] gamma = ParameterState.values(ParameterState.parameter(norm, "gamma"));
        try (ModelProbe.Capture cap = m.probe.capture(Set.of(path), Set.of(), Set.of(), false)) {
            return new LayerNormRead().read(path, gamma, cap.session().outputs().get(path),
                    cap.manager());
        }
    }

    private static void randomNormParams(Block seq, boolean withBeta) {
        Block norm = dev.deadwatch.capture.BlockPaths.children(seq).get(0);
        Random rnd = new Random(SEED + 2);
        Parameter g = ParameterState.parameter(norm, "gamma");
        double[] gv = new double[NORM_WIDTH];
        for (int i = 0; i < gv.length; i++) {
            gv[i] = (0.5 + 1.5 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
        }
        ParameterState.write(g.getArray(), gv);
        Parameter beta = ParameterState.parameter(norm, "beta");
        if (withBeta && beta != null) {
            double[] bv = new double[NORM_WIDTH];
            for (int i = 0; i < bv.length; i++) {
                bv[i] = rnd.nextGaussian();
            }
            ParameterState.write(beta.getArray(), bv);
        }
    }

    private static String sci(double v) {
        return String.format(Locale.ROOT, "%.2e", v);
    }
}
