package dev.deadwatch.reads;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import dev.deadwatch.capture.ParameterState;

/**
 * The BatchNorm read (docs/method.md §1a), from the parameters alone. A BatchNorm normalises each
 * channel by statistics over the batch and positions, then scales it by {@code γ_c}: there is no
 * inverse-scale kernel of the LayerNorm kind (the normalisation is per channel, not across
 * channels), but a channel whose {@code γ_c} is 0 outputs the constant {@code β_c}, a dead
 * channel. Reports {@code min|γ|} and the channels with {@code |γ_c| < }{@link #DEAD_GAMMA}
 * {@code × max|γ|}.
 */
public final class BatchNormRead implements Read {

    /** A channel with {@code |γ_c|} below this fraction of the largest {@code |γ|} is dead. */
    public static final double DEAD_GAMMA = 1e-3;

    /** @return {@code batchnorm} */
    @Override
    public String name() {
        return "batchnorm";
    }

    /** Applies when some tapped layer is a BatchNorm. */
    @Override
    public boolean appliesTo(ReadContext ctx) {
        return ctx.layers().stream().anyMatch(l -> ctx.paths().blockAt(l) instanceof BatchNorm);
    }

    @Override
    public void read(ReadContext ctx) {
        for (String layer : ctx.layers()) {
            Block b = ctx.paths().blockAt(layer);
            if (b instanceof BatchNorm) {
                try {
                    Parameter gamma = ParameterState.parameter(b, "gamma");
                    if (gamma == null) {
                        throw new IllegalArgumentException("a BatchNorm without a gamma");
                    }
                    ctx.add(read(layer, ctx.probe().values(gamma)));
                } catch (RuntimeException e) {
                    ctx.fail(layer, name(), e);
                }
            }
        }
    }

    /**
     * @param layer block path
     * @param gamma the per-channel scale
     * @return the read
     */
    public static BatchNormResult read(String layer, double[] gamma) {
        if (gamma.length == 0) {
            throw new IllegalArgumentException("gamma of layer " + layer + " is empty");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double g : gamma) {
            if (!Double.isFinite(g)) {
                throw new IllegalArgumentException("gamma of layer " + layer + " is not finite: " + g);
            }
            min = Math.min(min, Math.abs(g));
            max = Math.max(max, Math.abs(g));
        }
        int dead = 0;
        for (double g : gamma) {
            if (Math.abs(g) < DEAD_GAMMA * max || max == 0) {
                dead++;
            }
        }
        return new BatchNormResult(layer, gamma.length, min, dead);
    }
}
