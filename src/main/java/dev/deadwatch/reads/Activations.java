package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.deadwatch.capture.FeatureAxes;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.linalg.Scratch;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.List;

/**
 * Activation matrices (rows = samples × positions, columns = the feature axis, see
 * {@link dev.deadwatch.capture.FeatureAxes}) and their covariance spectra. The heavy products run on the engine in float64; the eigensolve on {@code double[]} ({@link dev.deadwatch.linalg.Eigensolver}: native LAPACK, or EJML).
 */
public final class Activations {

    /** Default cap on the rows of an activation matrix (docs/method.md §2 {@code N_max}). */
    public static final int DEFAULT_MAX_ROWS = 4096;

    private Activations() {}

    /**
     * {@link #centred(List, int, int, NDManager)} with the features on the last axis.
     *
     * @param calls one array per call of the block, last axis = width
     * @param maxRows row cap
     * @param into manager owning the result
     * @return the centred float64 matrix
     */
    public static NDArray centred(List<NDArray> calls, int maxRows, NDManager into) {
        return centred(calls, FeatureAxes.LAST, maxRows, into);
    }

    /**
     * Flattens the recorded calls of one block to {@code rows × width} (the feature axis last,
     * every other axis a row), concatenates them, keeps at most {@code maxRows} rows (evenly
     * spaced, so deterministic), converts to float64 and centres the columns.
     *
     * @param calls one array per call of the block
     * @param axis the feature axis ({@link FeatureAxes#resolve})
     * @param maxRows row cap
     * @param into manager owning the result
     * @return the centred float64 matrix
     */
    public static NDArray centred(List<NDArray> calls, int axis, int maxRows, NDManager into) {
        if (calls == null || calls.isEmpty()) {
            throw new IllegalArgumentException("no activations recorded");
        }
        if (maxRows < 2) {
            throw new IllegalArgumentException("maxRows must be >= 2, got " + maxRows);
        }
        NDList flat = new NDList();
        long width = -1;
        for (NDArray a : calls) {
            int rank = a.getShape().dimension();
            int ax = FeatureAxes.resolve(axis, rank);
            if (rank > 2 && ax != rank - 1) {
                int[] order = new int[rank];
                for (int i = 0, j = 0; i < rank; i++) {
                    if (i != ax) {
                        order[j++] = i;
                    }
                }
                order[rank - 1] = ax;
                a = a.transpose(order);
                a.attach(into);
            }
            long w = rank == 1 ? 1 : a.getShape().tail();
            if (width >= 0 && w != width) {
                throw new IllegalArgumentException("calls have different widths " + width + " and " + w);
            }
            width = w;
            NDArray f = a.reshape(-1, w).toType(DataType.FLOAT64, false);
            f.attach(into);
            flat.add(f);
        }
        NDArray all = flat.size() == 1 ? flat.head() : NDArrays.concat(flat, 0);
        all.attach(into);
        long rows = all.getShape().get(0);
        if (rows > maxRows) {
            long[] idx = new long[maxRows];
            for (int i = 0; i < maxRows; i++) {
                idx[i] = i * rows / maxRows;
            }
            NDArray index = into.create(idx);
            all = all.get(index);
            all.attach(into);
        }
        NDArray centred = all.sub(all.mean(new int[] {0}, true));
        centred.attach(into);
        return centred;
    }

    /**
     * The spectrum of {@code C = AᵀA/rows} for a centred {@code A}, computed through the smaller
     * of {@code AᵀA} and {@code AAᵀ} (same non-zero spectrum; the missing eigenvalues are zeros).
     *
     * @param centred centred float64 matrix
     * @return spectrum with {@code width} entries
     */
    public static Spectrum spectrum(NDArray centred) {
        long rows = centred.getShape().get(0);
        long width = centred.getShape().get(1);
        NDArray g = rows >= width
                ? centred.transpose().matMul(centred).div(rows)
                : centred.matMul(centred.transpose()).div(rows);
        int order = Math.toIntExact(Math.min(rows, width));
        try {
            double[] gram = Scratch.take(Scratch.Use.GRAM, order * order); // not a new array per layer
            ParameterState.toDoubles(g, gram);
            double[] values = SymmetricEigen.ofLeading(gram, order, false).values();
            return Spectrum.of(values, Math.toIntExact(width));
        } finally {
            g.close();
        }
    }

    /**
     * The covariance {@code C = AᵀA/rows} (width × width) of a centred {@code A}, decomposed with
     * its eigenvectors.
     *
     * @param centred centred float64 matrix
     * @return the covariance and its decomposition
     */
    public static Covariance covariance(NDArray centred) {
        return covariance(centred, true);
    }

    /**
     * The covariance {@code C = AᵀA/rows} (width × width) of a centred {@code A}.
     *
     * @param centred centred float64 matrix
     * @param vectorsNow decompose with eigenvectors now; without, only the eigenvalues are
     *     computed, and the vectors the first time {@link Covariance#eigen()} is asked (for callers
     *     that need them only when the spectrum has a bottom, at about a third of the cost)
     * @return the covariance
     */
    public static Covariance covariance(NDArray centred, boolean vectorsNow) {
        // the matrix is this call's own: kept, not copied again
        return new Covariance(covarianceMatrix(centred), Math.toIntExact(centred.getShape().get(1)), vectorsNow, true);
    }

    /**
     * @param centred centred float64 matrix
     * @return {@code C = AᵀA/rows}, row-major {@code width × width}
     */
    public static double[] covarianceMatrix(NDArray centred) {
        int width = Math.toIntExact(centred.getShape().get(1));
        double[] c = new double[Math.multiplyExact(width, width)];
        covarianceInto(centred, c);
        return c;
    }

    /**
     * Writes {@code C = AᵀA/rows} of a centred {@code A} into the first {@code width²} entries of
     * a buffer (a {@link Scratch} one: a read that keeps nothing of the matrix allocates none).
     *
     * @param centred centred float64 matrix
     * @param into row-major {@code width × width} destination, at least that long
     * @return the width
     */
    public static int covarianceInto(NDArray centred, double[] into) {
        long rows = centred.getShape().get(0);
        try (NDArray t = centred.transpose(); NDArray p = t.matMul(centred); NDArray c = p.div(rows)) {
            ParameterState.toDoubles(c, into);
        }
        return Math.toIntExact(centred.getShape().get(1));
    }

    /** @return {@code vᵀ M v} for the row-major {@code width × width} matrix in {@code m}'s first entries */
    static double rayleigh(double[] m, int width, double[] v) {
        double s = 0;
        for (int i = 0; i < width; i++) {
            double row = 0;
            for (int j = 0; j < width; j++) {
                row += m[i * width + j] * v[j];
            }
            s += v[i] * row;
        }
        return s;
    }

    /** @return the trace of the row-major {@code width × width} matrix in {@code m}'s first entries */
    static double trace(double[] m, int width) {
        double t = 0;
        for (int i = 0; i < width; i++) {
            t += m[i * width + i];
        }
        return t;
    }

    /** A covariance matrix and its decomposition (the eigenvectors computed when first asked). */
    public static final class Covariance {
        private final double[] matrix;
        private final int width;
        private SymmetricEigen values;
        private SymmetricEigen eigen;

        /**
         * @param matrix row-major {@code width × width} (copied)
         * @param width the order
         * @param vectorsNow decompose with eigenvectors now, else values only until {@link #eigen()}
         */
        public Covariance(double[] matrix, int width, boolean vectorsNow) {
            this(matrix, width, vectorsNow, false);
        }

        private Covariance(double[] matrix, int width, boolean vectorsNow, boolean owned) {
            this.matrix = owned ? matrix : matrix.clone();
            this.width = width;
            if (vectorsNow) {
                eigen = SymmetricEigen.of(this.matrix, width, true);
            } else {
                values = SymmetricEigen.of(this.matrix, width, false);
            }
        }

        /** @return a copy of the row-major matrix */
        public double[] matrix() {
            return matrix.clone();
        }

        /** @return the order */
        public int width() {
            return width;
        }

        /** @return the eigendecomposition with eigenvectors (computed on the first call if not yet) */
        public synchronized SymmetricEigen eigen() {
            if (eigen == null) {
                eigen = SymmetricEigen.of(matrix, width, true);
                values = null;
            }
            return eigen;
        }

        /** @return {@code vᵀ C v} */
        public double rayleigh(double[] v) {
            return Activations.rayleigh(matrix, width, v);
        }

        /** @return the trace */
        public double trace() {
            return Activations.trace(matrix, width);
        }

        /** @return the spectrum */
        public synchronized Spectrum spectrum() {
            return Spectrum.of((eigen != null ? eigen : values).values(), width);
        }
    }
}
