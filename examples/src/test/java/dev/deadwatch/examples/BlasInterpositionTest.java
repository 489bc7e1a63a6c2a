package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import dev.deadwatch.linalg.Eigensolver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Documents the cause of the non-finite watched transformer (docs/findings.md): PyTorch's
 * {@code libtorch_cpu.so} binds each BLAS symbol it calls ({@code sgemm_}, …) at its first call,
 * and a BLAS opened {@code RTLD_GLOBAL} before that call takes it over. The program below is the
 * minimal case: it starts the engine, opens the system's {@code liblapack.so.3} (OpenBLAS) the way
 * a JNI binding such as {@code dev.ludovic.netlib} did, or {@code RTLD_LOCAL} the way deadwatch does
 * now, then runs one float32 matrix product; the dynamic linker's own log ({@code LD_DEBUG=bindings})
 * says where libtorch's {@code sgemm_} went. Each case runs in a child JVM (about a second), since the
 * binding cannot be undone in a process.
 */
class BlasInterpositionTest {

    /** {@code RTLD_LAZY}. */
    private static final int LAZY = 1;
    /** {@code RTLD_GLOBAL} on Linux. */
    private static final int GLOBAL = 0x100;
    private static final Pattern SGEMM = Pattern.compile(
            "binding file (\\S*libtorch_cpu\\.so) \\[0\\] to (\\S+) \\[0\\]: normal symbol `sgemm_'");

    @Test
    void aBlasOpenedGloballyTakesOverLibtorchsSgemmAndOneOpenedLocallyDoesNot(@TempDir Path dir) throws Exception {
        if ("true".equals(System.getenv("CI"))) { // scripts/setup.sh installs it there
            assertThat(Eigensolver.lapackProblem()).as("native LAPACK under CI").isEmpty();
        }
        assumeTrue(Eigensolver.lapackProblem().isEmpty(), () -> "no native LAPACK: " + Eigensolver.lapackProblem());
        assertThat(sgemmTarget("global", dir.resolve("global"))).as("libtorch's sgemm_ after a global open")
                .doesNotContain("libtorch_cpu.so").containsPattern("blas|lapack");
        assertThat(sgemmTarget("local", dir.resolve("local"))).as("libtorch's sgemm_ after a local open")
                .endsWith("libtorch_cpu.so");
    }

    /** @return the file the child's libtorch bound {@code sgemm_} to */
    private static String sgemmTarget(String how, Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), Child.class.getName(), how)
                .redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile());
        pb.environment().put("LD_DEBUG", "bindings");
        pb.environment().put("LD_DEBUG_OUTPUT", dir.resolve("ld").toString());
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("child finished").isTrue();
        assertThat(p.exitValue()).as("child exit; its output: " + Files.readString(dir.resolve("out.txt"))).isZero();
        try (Stream<Path> logs = Files.list(dir)) {
            for (Path log : logs.filter(f -> f.getFileName().toString().startsWith("ld")).toList()) {
                try (Stream<String> lines = Files.lines(log)) {
                    List<String> targets = lines.map(SGEMM::matcher).filter(Matcher::find).map(m -> m.group(2)).toList();
                    if (!targets.isEmpty()) {
                        return targets.get(0);
                    }
                }
            }
        }
        throw new AssertionError("no binding of libtorch's sgemm_ in the child's LD_DEBUG log");
    }

    /** The minimal program: engine, LAPACK opened {@code args[0]} ({@code global|local}), one matrix product. */
    public static final class Child {
        private Child() {}

        public static void main(String[] args) {
            Engine.getInstance(); // loads libtorch; no matrix product yet
            int flags = "global".equals(args[0]) ? LAZY | GLOBAL : LAZY;
            NativeLibrary.getInstance("liblapack.so.3", Map.of(Library.OPTION_OPEN_FLAGS, flags)).getFunction("dsyevd_");
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray x = m.ones(new Shape(64, 64));
                x.matMul(x).close();
            }
        }
    }
}
