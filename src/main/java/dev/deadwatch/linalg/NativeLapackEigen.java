package dev.deadwatch.linalg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * LAPACK's {@code dsyevd} through {@code dev.ludovic.netlib:lapack} (an optional dependency):
 * the only class that names it, and only in {@link Jni}, which is loaded after the class has been
 * found on the class path, so that without the artifact nothing here fails to link.
 */
final class NativeLapackEigen {

    /** The class whose presence says the artifact is on the class path. */
    static final String BINDING = "dev.ludovic.netlib.lapack.NativeLAPACK";
    /** Tolerance of the load-time check on a 2 × 2 matrix with eigenvalues 1 and 3. */
    private static final double SELF_CHECK = 1e-12;

    private static volatile String problem;
    private static volatile boolean probed;

    private NativeLapackEigen() {}

    /** @return why native LAPACK cannot run in this JVM, or {@code null} when it can (probed once) */
    static String problem() {
        if (!probed) {
            synchronized (NativeLapackEigen.class) {
                if (!probed) {
                    problem = probe();
                    probed = true;
                }
            }
        }
        return problem;
    }

    private static String probe() {
        try {
            Class.forName(BINDING, false, NativeLapackEigen.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return "dev.ludovic.netlib:lapack is not on the class path";
        }
        try {
            double[] w = new double[2];
            Jni.dsyevd(new double[] {2, 1, 1, 2}, 2, false, w);
            if (Math.abs(w[0] - 1) > SELF_CHECK || Math.abs(w[1] - 3) > SELF_CHECK) {
                return "dsyevd gave eigenvalues " + w[0] + ", " + w[1] + " for a matrix whose are 1 and 3";
            }
            return null;
        } catch (RuntimeException | LinkageError e) {
            // the binding throws "Unable to load native implementation" when liblapack.so.3 is missing
            return "the native library did not load (" + e + "); on Debian: apt-get install libopenblas0";
        }
    }

    /**
     * Decomposes in place.
     *
     * @param a symmetric {@code n × n} (row- or column-major: the same) in its first {@code n*n}
     *     entries, overwritten by the unit eigenvectors as columns when {@code vectors}, destroyed
     *     otherwise
     * @param n the order
     * @param vectors whether to compute eigenvectors
     * @param w receives the {@code n} eigenvalues, ascending
     * @throws IllegalStateException if native LAPACK cannot run ({@link #problem()})
     * @throws ArithmeticException if LAPACK did not converge
     */
    static void decompose(double[] a, int n, boolean vectors, double[] w) {
        String p = problem();
        if (p != null) {
            throw new IllegalStateException("native LAPACK cannot run: " + p);
        }
        Jni.dsyevd(a, n, vectors, w);
    }

    /**
     * @return the file the JVM mapped the LAPACK library from ({@code /proc/self/maps}), e.g.
     *     {@code /usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3}, or
     *     {@code liblapack.so.3} where that cannot be read
     */
    static String library() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.contains("/liblapack.so"))
                    .findFirst().orElse("liblapack.so.3");
        } catch (IOException | RuntimeException e) {
            return "liblapack.so.3";
        }
    }

    /**
     * What to do about a multithreaded OpenBLAS: its threads spin against training's, and with
     * another process on the cores an eigensolve at order 1536 took 5 s instead of 0.3 s
     * single-threaded (docs/library.md, "The eigensolver").
     *
     * @param library the mapped LAPACK library ({@link #library()})
     * @param openblasThreads the environment's {@code OPENBLAS_NUM_THREADS}, or {@code null}
     * @param ompThreads the environment's {@code OMP_NUM_THREADS}, or {@code null}
     * @return advice when the library is Debian's pthread or OpenMP build of OpenBLAS and not held
     *     to one thread, else {@code null}
     */
    static String threadingAdvice(String library, String openblasThreads, String ompThreads) {
        boolean threaded = library.contains("openblas-pthread") || library.contains("openblas-openmp");
        boolean one = openblasThreads != null ? "1".equals(openblasThreads.trim())
                : ompThreads != null && "1".equals(ompThreads.trim());
        if (!threaded || one) {
            return null;
        }
        return "native LAPACK is a multithreaded OpenBLAS (" + library + ", OPENBLAS_NUM_THREADS="
                + openblasThreads + "): its threads compete with training's, and on a busy machine an eigensolve"
                + " takes 10 to 20 times longer; set OPENBLAS_NUM_THREADS=1 or install libopenblas0-serial";
    }

    /** The calls into the binding. */
    private static final class Jni {
        private Jni() {}

        static void dsyevd(double[] a, int n, boolean vectors, double[] w) {
            dev.ludovic.netlib.lapack.LAPACK lapack = dev.ludovic.netlib.lapack.NativeLAPACK.getInstance();
            String jobz = vectors ? "V" : "N";
            org.netlib.util.intW info = new org.netlib.util.intW(0);
            double[] workSize = new double[1];
            int[] iworkSize = new int[1];
            lapack.dsyevd(jobz, "U", n, a, n, w, workSize, -1, iworkSize, -1, info); // workspace query
            check(info.val, n);
            int lwork = Math.max(1, (int) workSize[0]);
            double[] work = Scratch.take(Scratch.Use.WORK, lwork); // 2n² + 6n + 1 with vectors
            int[] iwork = new int[Math.max(1, iworkSize[0])];
            lapack.dsyevd(jobz, "U", n, a, n, w, work, lwork, iwork, iwork.length, info);
            check(info.val, n);
        }

        private static void check(int info, int n) {
            if (info > 0) {
                throw new ArithmeticException("LAPACK dsyevd did not converge (n=" + n + ", info=" + info + ")");
            }
            if (info < 0) {
                throw new IllegalStateException("LAPACK dsyevd rejected argument " + (-info) + " (n=" + n + ")");
            }
        }
    }
}
