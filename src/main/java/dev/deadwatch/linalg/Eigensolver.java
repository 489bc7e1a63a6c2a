package dev.deadwatch.linalg;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The symmetric eigensolvers behind {@link SymmetricEigen}, and which one runs.
 *
 * <ul>
 *   <li>{@link #LAPACK}: LAPACK's divide-and-conquer {@code dsyevd} ({@code jobz='N'} for values
 *       only), from the system's {@code liblapack.so.3} (OpenBLAS's with Debian's
 *       {@code libopenblas0-serial}), called through JNA with the library opened
 *       {@code RTLD_LOCAL} so that its BLAS symbols never take over PyTorch's
 *       ({@code NativeLapackEigen}, docs/findings.md).</li>
 *   <li>{@link #EJML}: EJML's symmetric QR in pure Java, always available; about 20 times slower
 *       at order 1536 (values only) on two cores.</li>
 * </ul>
 *
 * <p>The JVM's solver ({@link #selected()}) is chosen once, on first use, by the system property
 * {@value #PROPERTY}: {@code auto} (the default) takes LAPACK when the native library loads and
 * passes a check, EJML otherwise; {@code lapack} insists on LAPACK (an error naming why when
 * it cannot load); {@code ejml} takes EJML. The choice is logged once at INFO, and a warning
 * follows when the library is a multithreaded OpenBLAS not held to one thread (its threads spin
 * against training's: {@code OPENBLAS_NUM_THREADS=1}, or Debian's {@code libopenblas0-serial}).
 * The two agree to
 * {@code SymmetricEigenAgreementTest}'s tolerances: eigenvalues within 1e-13 of the largest
 * {@code |λ|}; eigenvectors of separated eigenvalues within 1e-14 {@code |λ|max/gap}, with the
 * same sign ({@link SymmetricEigen}'s convention); eigenspaces of clustered eigenvalues alike.
 */
public enum Eigensolver {
    /** Native LAPACK {@code dsyevd}. */
    LAPACK("lapack"),
    /** EJML, pure Java. */
    EJML("ejml");

    /** The system property choosing the JVM's solver: {@code auto}, {@code lapack} or {@code ejml}. */
    public static final String PROPERTY = "deadwatch.eigensolver";

    private static final Logger LOG = LoggerFactory.getLogger(Eigensolver.class);
    private static final ThreadLocal<Eigensolver> SCOPED = new ThreadLocal<>();
    private static volatile Eigensolver selected;

    private final String label;

    Eigensolver(String label) {
        this.label = label;
    }

    /** @return {@code lapack} or {@code ejml}, as the property spells it */
    public String label() {
        return label;
    }

    /** @return whether this solver can run in this JVM */
    public boolean available() {
        return this == EJML || lapackProblem().isEmpty();
    }

    /** @return what the solver is, e.g. {@code LAPACK dsyevd (/usr/lib/…/openblas-serial/liblapack.so.3, OPENBLAS_NUM_THREADS=null)} */
    public String describe() {
        if (this == EJML) {
            return "EJML (pure Java, symmetric QR)";
        }
        return "LAPACK dsyevd (" + lapackProblem().map(p -> "unavailable: " + p).orElseGet(
                () -> NativeLapackEigen.library() + ", OPENBLAS_NUM_THREADS=" + System.getenv("OPENBLAS_NUM_THREADS")) + ")";
    }

    /** @return why native LAPACK cannot run in this JVM, or empty when it can */
    public static Optional<String> lapackProblem() {
        return Optional.ofNullable(NativeLapackEigen.problem());
    }

    /**
     * @return the solver {@link SymmetricEigen#of(double[], int, boolean)} uses on the calling
     *     thread: the one of an enclosing {@link #use}, else {@link #selected()}
     */
    public static Eigensolver current() {
        Eigensolver s = SCOPED.get();
        return s != null ? s : selected();
    }

    /**
     * @return the JVM's solver, chosen on first use from {@value #PROPERTY} (and logged once)
     * @throws IllegalArgumentException if the property has another value
     * @throws IllegalStateException if it asks for LAPACK and LAPACK cannot run
     */
    public static Eigensolver selected() {
        Eigensolver s = selected;
        if (s == null) {
            synchronized (Eigensolver.class) {
                s = selected;
                if (s == null) {
                    s = choose(System.getProperty(PROPERTY), lapackProblem().orElse(null));
                    selected = s;
                    String why = s == EJML ? lapackProblem().map(p -> "; native LAPACK: " + p).orElse("") : "";
                    LOG.info("deadwatch: symmetric eigensolver {}{}", s.describe(), why);
                    String advice = s == LAPACK ? NativeLapackEigen.threadingAdvice(NativeLapackEigen.library(),
                            System.getenv("OPENBLAS_NUM_THREADS"), System.getenv("OMP_NUM_THREADS")) : null;
                    if (advice != null) {
                        LOG.warn("deadwatch: {}", advice);
                    }
                }
            }
        }
        return s;
    }

    /**
     * The rule of {@link #selected()}, without its side effects.
     *
     * @param property the value of {@value #PROPERTY}, or {@code null} when unset
     * @param lapackProblem why LAPACK cannot run, or {@code null} when it can
     * @return the solver
     * @throws IllegalArgumentException if {@code property} is not auto, lapack or ejml
     * @throws IllegalStateException if it is lapack and {@code lapackProblem} is not null
     */
    static Eigensolver choose(String property, String lapackProblem) {
        String v = property == null ? "auto" : property.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "", "auto":
                return lapackProblem == null ? LAPACK : EJML;
            case "lapack":
                if (lapackProblem != null) {
                    throw new IllegalStateException(PROPERTY + "=lapack but native LAPACK cannot run: " + lapackProblem);
                }
                return LAPACK;
            case "ejml":
                return EJML;
            default:
                throw new IllegalArgumentException(PROPERTY + " must be auto, lapack or ejml, got '" + property + "'");
        }
    }

    /**
     * Runs {@code work} on the calling thread with this solver as the one
     * {@link SymmetricEigen#of(double[], int, boolean)} uses (for comparisons of the two in one
     * JVM); the previous choice is restored after.
     *
     * @param work what to run
     * @param <T> its result
     * @return its result
     * @throws IllegalStateException if this solver cannot run here
     */
    public <T> T use(Supplier<T> work) {
        Objects.requireNonNull(work, "work");
        if (!available()) {
            throw new IllegalStateException("eigensolver " + label + " cannot run: " + lapackProblem().orElse("?"));
        }
        Eigensolver before = SCOPED.get();
        SCOPED.set(this);
        try {
            return work.get();
        } finally {
            if (before == null) {
                SCOPED.remove();
            } else {
                SCOPED.set(before);
            }
        }
    }
}
