package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.deadwatch.linalg.Spectrum;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The DDS spectral read (docs/method.md §2, arXiv 2606.21158): spectrum of the centred activation
 * covariance of a layer (or of a Fisher Gram), its active volume {@code log det⁺}, relative
 * {@code λ_min+}, volume-slope profile {@code D(ε)} and headline dead count, effective rank.
 */
public final class DdsRead implements Read {

    private final int maxRows;
    private final double floor;
    private final double epsDead;

    /** A read with the docs/method.md defaults ({@code N_max} 4096, floor 1e-12, ε_dead 1e-4). */
    public DdsRead() {
        this(Activations.DEFAULT_MAX_ROWS, Spectrum.DEFAULT_FLOOR, Spectrum.EPS_DEAD);
    }

    /**
     * @param maxRows row cap {@code N_max}, at least 2
     * @param floor relative numerical floor, in (0, 1)
     * @param epsDead the ε of the headline count, in (0, 1)
     */
    public DdsRead(int maxRows, double floor, double epsDead) {
        if (maxRows < 2) {
            throw new IllegalArgumentException("maxRows must be >= 2, got " + maxRows);
        }
        if (!(floor > 0 && floor < 1)) {
            throw new IllegalArgumentException("floor must be in (0,1), got " + floor);
        }
        if (!(epsDead > 0 && epsDead < 1)) {
            throw new IllegalArgumentException("epsDead must be in (0,1), got " + epsDead);
        }
        this.maxRows = maxRows;
        this.floor = floor;
        this.epsDead = epsDead;
    }

    /** @return {@code dds} */
    @Override
    public String name() {
        return "dds";
    }

    @Override
    public boolean needsActivations() {
        return true;
    }

    /**
     * Reads the activation side of every tapped layer; a layer the LayerNorm read found with its
     * kernel (a {@link LayerNormResult} before this read) has that one structural direction
     * subtracted from its headline.
     */
    @Override
    public void read(ReadContext ctx) {
        Map<String, Integer> kernels = new HashMap<>();
        for (LayerNormResult r : ctx.results(LayerNormResult.class)) {
            kernels.put(r.layer(), r.kernel() ? 1 : 0);
        }
        Map<String, List<NDArray>> outputs = ctx.activations().outputs();
        for (String layer : ctx.layers()) {
            List<NDArray> calls = outputs.get(layer);
            if (calls != null) {
                ctx.add(activation(layer, calls, kernels.getOrDefault(layer, 0), ctx.scratch()));
            }
        }
    }

    /**
     * Reads the activation side of one layer.
     *
     * @param layer block path
     * @param calls recorded outputs of the block (one per call)
     * @param structuralKernels known structural kernels to subtract from the headline
     * @param scratch manager for temporaries (closed by the caller)
     * @return the result
     */
    public DdsResult activation(String layer, List<NDArray> calls, int structuralKernels,
            NDManager scratch) {
        try (NDManager m = scratch.newSubManager()) {
            NDArray a = Activations.centred(calls, maxRows, m);
            int rows = Math.toIntExact(a.getShape().get(0));
            return fromSpectrum(layer, Side.ACTIVATION, rows, Activations.spectrum(a),
                    structuralKernels);
        }
    }

    /**
     * The observables of a spectrum.
     *
     * @param layer block path
     * @param side side
     * @param rows rows of the source matrix
     * @param spectrum the spectrum (one entry per dimension)
     * @param structuralKernels kernels to subtract from the headline
     * @return the result
     */
    public DdsResult fromSpectrum(String layer, Side side, int rows, Spectrum spectrum,
            int structuralKernels) {
        if (structuralKernels < 0) {
            throw new IllegalArgumentException(
                    "structuralKernels must be >= 0, got " + structuralKernels);
        }
        double[] profile = new double[Spectrum.PROFILE_EPS.length];
        for (int i = 0; i < profile.length; i++) {
            profile[i] = spectrum.deadProfile(Spectrum.PROFILE_EPS[i]);
        }
        double d = spectrum.deadProfile(epsDead);
        int dead = Double.isNaN(d) ? -1 : (int) Math.max(0, Math.round(d) - structuralKernels);
        return new DdsResult(layer, side, rows, spectrum.dimension(), spectrum.logDetActive(floor),
                spectrum.lambdaMinPositive(floor), spectrum.effectiveRank(), profile,
                structuralKernels, dead, rows < spectrum.dimension());
    }
}
