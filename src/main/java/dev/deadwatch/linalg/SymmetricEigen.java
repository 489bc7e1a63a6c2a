package dev.deadwatch.linalg;

import java.util.Arrays;
import java.util.Objects;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Float64 eigendecomposition of a real symmetric matrix, by the JVM's {@link Eigensolver}: native
 * LAPACK {@code dsyevd} when it can run, EJML's symmetric QR otherwise.
 *
 * <p>Eigenvalues are returned in descending order, eigenvectors as unit rows in the same
 * order, each signed so that its largest-magnitude entry (the first of those within
 * {@link #SIGN_TIE} of it) is positive: the same vectors whichever solver ran, for simple
 * eigenvalues. The input is symmetrised as {@code (S + Sᵀ)/2} first, so the rounding asymmetry of
 * an engine-computed Gram does not reach the solver. Ask for vectors only where they are used:
 * values only cost about a third (LAPACK at order 1536: 0.09 s against 0.25 s on two cores).
 */
public final class SymmetricEigen {

    /** Side of the tiles in which the input is symmetrised. */
    private static final int TILE = 64;

    /** Relative margin within which two entries count as the largest when a vector's sign is fixed. */
    public static final double SIGN_TIE = 1e-9;

    private final double[] values;
    private final double[][] vectors;
    private final double[] coordinates;
    private final Eigensolver solver;

    private SymmetricEigen(double[] values, double[][] vectors, double[] coordinates, Eigensolver solver) {
        this.values = values;
        this.vectors = vectors;
        this.coordinates = coordinates;
        this.solver = solver;
    }

    /**
     * Decomposes a symmetric {@code n × n} matrix stored row-major with the calling thread's
     * solver ({@link Eigensolver#current()}).
     *
     * @param matrix row-major entries, length {@code n*n}
     * @param n the order
     * @param withVectors whether eigenvectors are wanted (values only is about 3x cheaper)
     * @return the decomposition
     * @throws IllegalArgumentException if the length does not match or an entry is not finite
     */
    public static SymmetricEigen of(double[] matrix, int n, boolean withVectors) {
        return of(matrix, n, withVectors, Eigensolver.current());
    }

    /**
     * Decomposes a symmetric {@code n × n} matrix stored row-major with the given solver.
     *
     * @param matrix row-major entries, length {@code n*n}
     * @param n the order
     * @param withVectors whether eigenvectors are wanted
     * @param solver the solver
     * @return the decomposition
     * @throws IllegalArgumentException if the length does not match or an entry is not finite
     * @throws IllegalStateException if the solver cannot run here ({@link Eigensolver#available()})
     * @throws ArithmeticException if the solver did not converge
     */
    public static SymmetricEigen of(double[] matrix, int n, boolean withVectors, Eigensolver solver) {
        Objects.requireNonNull(matrix, "matrix");
        if (n < 1 || matrix.length != (long) n * n) {
            throw new IllegalArgumentException(
                    "matrix length " + matrix.length + " is not n*n for n=" + n);
        }
        return decompose(matrix, n, withVectors, Objects.requireNonNull(solver, "solver"));
    }

    /**
     * Decomposes the symmetric {@code n × n} matrix held in the first {@code n*n} entries of a
     * longer array (a {@link Scratch} buffer), with the calling thread's solver.
     *
     * @param matrix row-major entries in {@code [0, n*n)}; later entries are ignored
     * @param n the order
     * @param withVectors whether eigenvectors are wanted
     * @return the decomposition
     * @throws IllegalArgumentException if the array is shorter than {@code n*n} or an entry is not
     *     finite
     */
    public static SymmetricEigen ofLeading(double[] matrix, int n, boolean withVectors) {
        requireLeading(matrix, n);
        return decompose(matrix, n, withVectors, null, Eigensolver.current());
    }

    /**
     * Decomposes the symmetric {@code n × n} matrix held in the first {@code n*n} entries of an
     * array and gives the coordinates of one vector in its eigenbasis, {@code c_i = v_i · u}, in
     * place of the eigenvectors: a read that projects {@code u} on part of a spectrum copies none of
     * the {@code n} vectors of length {@code n}.
     *
     * @param matrix row-major entries in {@code [0, n*n)}; later entries are ignored
     * @param n the order
     * @param u the vector, length {@code n}
     * @return the decomposition, its {@link #coordinates()} set and no {@link #vector(int)}
     * @throws IllegalArgumentException if the array is shorter than {@code n*n}, {@code u} is not of
     *     length {@code n}, or an entry is not finite
     */
    public static SymmetricEigen ofLeadingCoordinates(double[] matrix, int n, double[] u) {
        requireLeading(matrix, n);
        Objects.requireNonNull(u, "u");
        if (u.length != n) {
            throw new IllegalArgumentException("u length " + u.length + " is not the order n=" + n);
        }
        return decompose(matrix, n, true, u, Eigensolver.current());
    }

    /** Checks that {@code matrix} holds an {@code n × n} block in its first entries. */
    private static void requireLeading(double[] matrix, int n) {
        Objects.requireNonNull(matrix, "matrix");
        if (n < 1 || matrix.length < (long) n * n) {
            throw new IllegalArgumentException("matrix length " + matrix.length + " is less than n*n for n=" + n);
        }
    }

    private static SymmetricEigen decompose(double[] matrix, int n, boolean withVectors, Eigensolver solver) {
        return decompose(matrix, n, withVectors, null, solver);
    }

    /** @param u when not null, its coordinates are kept in place of the vectors */
    private static SymmetricEigen decompose(double[] matrix, int n, boolean withVectors, double[] u, Eigensolver solver) {
        // the thread's buffer: the solver overwrites it, and nothing of it is kept past this call
        double[] sym = Scratch.take(Scratch.Use.SYMMETRIC, n * n);
        // in tiles, so that the transposed reads stay in cache at the orders of a transformer's widths
        for (int ib = 0; ib < n; ib += TILE) {
            for (int jb = 0; jb < n; jb += TILE) {
                for (int i = ib; i < Math.min(n, ib + TILE); i++) {
                    for (int j = jb; j < Math.min(n, jb + TILE); j++) {
                        double a = matrix[i * n + j];
                        if (!Double.isFinite(a)) {
                            throw new IllegalArgumentException(
                                    "matrix entry (" + i + "," + j + ") is not finite: " + a);
                        }
                        sym[i * n + j] = 0.5 * (a + matrix[j * n + i]);
                    }
                }
            }
        }
        double[] raw = new double[n];
        double[] columns; // eigenvector k in entries [k*n, (k+1)*n), paired with raw[k]
        if (solver == Eigensolver.LAPACK) {
            NativeLapackEigen.decompose(sym, n, withVectors, raw); // symmetric: row- and column-major alike
            columns = withVectors ? sym : null;
        } else {
            columns = ejml(sym, n, withVectors, raw);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(raw[y], raw[x]));
        double[] values = new double[n];
        double[][] vectors = withVectors && u == null ? new double[n][] : null;
        double[] coordinates = u != null ? new double[n] : null;
        for (int i = 0; i < n; i++) {
            values[i] = raw[order[i]];
            if (vectors != null) {
                vectors[i] = canonical(Arrays.copyOfRange(columns, order[i] * n, (order[i] + 1) * n));
            } else if (coordinates != null) {
                int at = order[i] * n;
                double dot = 0;
                for (int k = 0; k < n; k++) {
                    dot += columns[at + k] * u[k];
                }
                coordinates[i] = dot * canonicalScale(columns, at, n);
            }
        }
        return new SymmetricEigen(values, vectors, coordinates, solver);
    }

    /** EJML's decomposition of {@code sym} (row-major): values into {@code raw}, vectors as returned. */
    private static double[] ejml(double[] sym, int n, boolean withVectors, double[] raw) {
        DMatrixRMaj m = DMatrixRMaj.wrap(n, n, sym.length == n * n ? sym : Arrays.copyOf(sym, n * n));
        EigenDecomposition_F64<DMatrixRMaj> eig =
                DecompositionFactory_DDRM.eig(n, withVectors, true);
        if (!eig.decompose(m)) {
            throw new ArithmeticException("symmetric eigensolver did not converge (n=" + n + ")");
        }
        double[] columns = withVectors ? new double[n * n] : null;
        for (int i = 0; i < n; i++) {
            raw[i] = eig.getEigenvalue(i).getReal();
            if (withVectors) {
                DMatrixRMaj v = eig.getEigenVector(i);
                for (int k = 0; k < n; k++) {
                    columns[i * n + k] = v.get(k, 0);
                }
            }
        }
        return columns;
    }

    /**
     * @param v a non-zero vector (modified)
     * @return {@code v} scaled to unit length, its largest-magnitude entry (the first within
     *     {@link #SIGN_TIE} of the largest) positive
     */
    static double[] canonical(double[] v) {
        double scale = canonicalScale(v, 0, v.length);
        for (int k = 0; k < v.length; k++) {
            v[k] *= scale;
        }
        return v;
    }

    /**
     * @return the factor that makes the non-zero vector {@code a[from, from+n)} canonical: unit
     *     length, its largest-magnitude entry (the first within {@link #SIGN_TIE} of the largest)
     *     positive
     */
    private static double canonicalScale(double[] a, int from, int n) {
        double norm = 0;
        double max = 0;
        for (int k = from; k < from + n; k++) {
            norm += a[k] * a[k];
            max = Math.max(max, Math.abs(a[k]));
        }
        int lead = from;
        while (Math.abs(a[lead]) < max * (1 - SIGN_TIE)) {
            lead++;
        }
        return (a[lead] < 0 ? -1 : 1) / Math.sqrt(norm);
    }

    /** @return the solver that computed this decomposition */
    public Eigensolver solver() {
        return solver;
    }

    /** @return the order of the matrix */
    public int size() {
        return values.length;
    }

    /** @return a copy of the eigenvalues, largest first */
    public double[] values() {
        return values.clone();
    }

    /**
     * @param i index in descending order of eigenvalue
     * @return a copy of the unit eigenvector for {@code values()[i]}
     * @throws IllegalStateException if the decomposition was made without vectors (values only, or
     *     a vector's {@link #coordinates()})
     */
    public double[] vector(int i) {
        if (vectors == null) {
            throw new IllegalStateException("decomposition was computed without eigenvectors");
        }
        return vectors[i].clone();
    }

    /**
     * @return a copy of the coordinates {@code c_i = v_i · u} of the vector given to
     *     {@link #ofLeadingCoordinates}, in descending order of eigenvalue ({@code v_i} the unit
     *     eigenvectors {@link #vector(int)} would give)
     * @throws IllegalStateException if the decomposition was made without a vector to project
     */
    public double[] coordinates() {
        if (coordinates == null) {
            throw new IllegalStateException("decomposition was computed without a vector's coordinates");
        }
        return coordinates.clone();
    }

    /** @return a copy of the eigenvector of the smallest eigenvalue */
    public double[] bottomVector() {
        return vector(values.length - 1);
    }
}
