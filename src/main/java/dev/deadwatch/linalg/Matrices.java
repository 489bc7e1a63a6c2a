package dev.deadwatch.linalg;

import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;

/** Small dense helpers on row-major {@code double[]} matrices. */
public final class Matrices {

    private Matrices() {}

    /**
     * A Haar-random orthogonal matrix (QR of a Gaussian matrix with the sign of R's diagonal
     * folded into Q).
     *
     * @param n order
     * @param random source of randomness
     * @return row-major {@code n × n} orthogonal matrix
     */
    public static double[] randomOrthogonal(int n, Random random) {
        DMatrixRMaj g = new DMatrixRMaj(n, n);
        for (int i = 0; i < n * n; i++) {
            g.data[i] = random.nextGaussian();
        }
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(n, n);
        if (!qr.decompose(g)) {
            throw new ArithmeticException("QR failed");
        }
        DMatrixRMaj q = qr.getQ(null, false);
        DMatrixRMaj r = qr.getR(null, false);
        double[] out = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                out[i * n + j] = q.get(i, j) * Math.signum(r.get(j, j) == 0 ? 1 : r.get(j, j));
            }
        }
        return out;
    }

    /** @return row-major product {@code A (m×k) · B (k×n)} */
    public static double[] multiply(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                double aip = a[i * k + p];
                if (aip == 0) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    c[i * n + j] += aip * b[p * n + j];
                }
            }
        }
        return c;
    }

    /** @return row-major transpose of an {@code m × n} matrix */
    public static double[] transpose(double[] a, int m, int n) {
        double[] t = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                t[j * m + i] = a[i * n + j];
            }
        }
        return t;
    }

    /** @return the dot product */
    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** @return the Euclidean norm */
    public static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    /**
     * Matrix exponential by scaling and squaring with a 20-term Taylor series (accurate to
     * float64 rounding for any norm, since the scaled matrix has norm below 1/2).
     *
     * @param s row-major {@code n × n} matrix
     * @param n order
     * @return {@code exp(S)}
     */
    public static double[] expm(double[] s, int n) {
        double norm = 0;
        for (double v : s) {
            norm = Math.max(norm, Math.abs(v));
        }
        int squarings = Math.max(0, (int) Math.ceil(Math.log(norm * n + 1e-300) / Math.log(2)) + 1);
        double scale = Math.pow(2, -squarings);
        double[] a = new double[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = s[i] * scale;
        }
        double[] result = identity(n);
        double[] term = identity(n);
        for (int k = 1; k <= 20; k++) {
            term = multiply(term, a, n, n, n);
            for (int i = 0; i < term.length; i++) {
                term[i] /= k;
                result[i] += term[i];
            }
        }
        for (int i = 0; i < squarings; i++) {
            result = multiply(result, result, n, n, n);
        }
        return result;
    }

    /** @return the {@code n × n} identity, row-major */
    public static double[] identity(int n) {
        double[] id = new double[n * n];
        for (int i = 0; i < n; i++) {
            id[i * n + i] = 1;
        }
        return id;
    }

    /**
     * The top right singular vector of a row-major {@code rows × cols} matrix (top eigenvector
     * of {@code WᵀW}).
     *
     * @return unit vector of length {@code cols}
     */
    public static double[] topRightSingular(double[] w, int rows, int cols) {
        double[] wtw = multiply(transpose(w, rows, cols), w, cols, rows, cols);
        return SymmetricEigen.of(wtw, cols, true).vector(0);
    }

    /**
     * The top left singular vector (top eigenvector of {@code WWᵀ}).
     *
     * @return unit vector of length {@code rows}
     */
    public static double[] topLeftSingular(double[] w, int rows, int cols) {
        double[] wwt = multiply(w, transpose(w, rows, cols), rows, cols, rows);
        return SymmetricEigen.of(wwt, rows, true).vector(0);
    }

    /** @return the outer product {@code a bᵀ}, row-major {@code |a| × |b|} */
    public static double[] outer(double[] a, double[] b) {
        double[] o = new double[a.length * b.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                o[i * b.length + j] = a[i] * b[j];
            }
        }
        return o;
    }
}
