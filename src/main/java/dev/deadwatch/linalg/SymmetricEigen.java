package dev.deadwatch.linalg;

import java.util.Arrays;
import java.util.Objects;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Float64 eigendecomposition of a real symmetric matrix (EJML's symmetric QR solver).
 *
 * <p>Eigenvalues are returned in descending order, eigenvectors as unit rows in the same
 * order. The input is symmetrised as {@code (S + Sᵀ)/2} first, so the rounding asymmetry of
 * an engine-computed Gram does not reach the solver.
 */
public final class SymmetricEigen {

    private final double[] values;
    private final double[][] vectors;

    private SymmetricEigen(double[] values, double[][] vectors) {
        this.values = values;
        this.vectors = vectors;
    }

    /**
     * Decomposes a symmetric {@code n × n} matrix stored row-major.
     *
     * @param matrix row-major entries, length {@code n*n}
     * @param n the order
     * @param withVectors whether eigenvectors are wanted (values only is about 3x cheaper)
     * @return the decomposition
     * @throws IllegalArgumentException if the length does not match or an entry is not finite
     */
    public static SymmetricEigen of(double[] matrix, int n, boolean withVectors) {
        Objects.requireNonNull(matrix, "matrix");
        if (n < 1 || matrix.length != (long) n * n) {
            throw new IllegalArgumentException(
                    "matrix length " + matrix.length + " is not n*n for n=" + n);
        }
        DMatrixRMaj m = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double a = matrix[i * n + j];
                double b = matrix[j * n + i];
                if (!Double.isFinite(a)) {
                    throw new IllegalArgumentException(
                            "matrix entry (" + i + "," + j + ") is not finite: " + a);
                }
                m.unsafe_set(i, j, 0.5 * (a + b));
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig =
                DecompositionFactory_DDRM.eig(n, withVectors, true);
        if (!eig.decompose(m)) {
            throw new ArithmeticException("symmetric eigensolver did not converge (n=" + n + ")");
        }
        Integer[] order = new Integer[n];
        double[] raw = new double[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            raw[i] = eig.getEigenvalue(i).getReal();
        }
        Arrays.sort(order, (x, y) -> Double.compare(raw[y], raw[x]));
        double[] values = new double[n];
        double[][] vectors = withVectors ? new double[n][] : null;
        for (int i = 0; i < n; i++) {
            values[i] = raw[order[i]];
            if (withVectors) {
                DMatrixRMaj v = eig.getEigenVector(order[i]);
                double[] row = new double[n];
                double norm = 0;
                for (int k = 0; k < n; k++) {
                    row[k] = v.get(k, 0);
                    norm += row[k] * row[k];
                }
                norm = Math.sqrt(norm);
                for (int k = 0; k < n; k++) {
                    row[k] /= norm;
                }
                vectors[i] = row;
            }
        }
        return new SymmetricEigen(values, vectors);
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
     * @throws IllegalStateException if the decomposition was made without vectors
     */
    public double[] vector(int i) {
        if (vectors == null) {
            throw new IllegalStateException("decomposition was computed without eigenvectors");
        }
        return vectors[i].clone();
    }

    /** @return a copy of the eigenvector of the smallest eigenvalue */
    public double[] bottomVector() {
        return vector(values.length - 1);
    }
}
