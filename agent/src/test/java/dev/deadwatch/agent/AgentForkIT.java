package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forks a JVM running an ordinary DJL program ({@code PlainTraining}, no deadwatch code) under
 * the real {@code -javaagent} and asserts its exit code and what it exported. The forked class
 * path has DJL but none of deadwatch's dependencies: the agent must bring them, shaded.
 */
class AgentForkIT {

    @TempDir
    Path tmp;

    /** Test class path minus deadwatch and everything the agent must bring itself. */
    static String applicationClassPath() {
        List<String> keep = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String s = e.replace('\\', '/');
            boolean ours = s.contains("deadwatch-core") || s.contains("/src/target/") || s.contains("/agent/target/")
                    || s.contains("micrometer") || s.contains("prometheus") || s.contains("byte-buddy")
                    || s.contains("ejml") || s.contains("picocli") || s.contains("xchart")
                    || s.contains("HdrHistogram") || s.contains("LatencyUtils") || s.contains("junit")
                    || s.contains("assertj") || s.contains("opentest4j") || s.contains("apiguardian");
            if (!ours) {
                keep.add(e);
            }
        }
        return String.join(File.pathSeparator, keep);
    }

    record Run(int exit, String out, String err) {}

    Run fork(String agentArgs, String... extraJvm) throws Exception {
        return fork(tmp, applicationClassPath(), List.of("dev.deadwatch.examples.PlainTraining", "30"), agentArgs, extraJvm);
    }

    /**
     * Runs {@code program} (main class, then its arguments) under the agent in a new JVM.
     *
     * @param tmp where its output goes
     * @param classPath the program's class path
     * @param program main class and arguments
     * @param agentArgs the agent's arguments, or {@code null}
     * @param extraJvm further JVM options
     * @return its exit code and output
     */
    static Run fork(Path tmp, String classPath, List<String> program, String agentArgs, String... extraJvm)
            throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Xmx2g");
        cmd.addAll(List.of(extraJvm));
        cmd.add("-javaagent:" + AgentJarIT.agentJar().toAbsolutePath() + (agentArgs == null ? "" : "=" + agentArgs));
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.addAll(program);
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("forked training did not finish in 5 minutes");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void theAgentMonitorsAProgramWithNoListenerCode() throws Exception {
        Path dump = tmp.resolve("final.prom");
        Run r = fork("port=" + freePort() + ",every=4,order=2,budget=1.0,run=fork-it,dump=" + dump);
        assertThat(r.exit()).as("stderr:%n%s", r.err()).isZero();
        assertThat(r.out()).contains("PlainTraining: done");
        assertThat(r.err()).contains("deadwatch agent: monitoring trainer of model 'plain-mlp'");
        String prom = Files.readString(dump, StandardCharsets.UTF_8);
        assertThat(prom).contains("deadwatch_dead_directions{")
                .contains("run=\"fork-it\"")
                .contains("model=\"plain-mlp\"")
                .contains("layer=\"01Linear\"")
                .contains("deadwatch_snapshots_total{");
        assertThat(prom).doesNotContain("reason=\"error\"} 1");
    }

    @Test
    void aBadArgumentDisablesTheAgentAndTheProgramStillRuns() throws Exception {
        Run r = fork("every=zero");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("PlainTraining: done");
        assertThat(r.err()).contains("deadwatch agent: disabled").contains("every").contains("'zero'");
        assertThat(r.err()).doesNotContain("monitoring trainer");
    }

    @Test
    void theKillSwitchTurnsTheAgentOff() throws Exception {
        Run r = fork("port=" + freePort(), "-Ddeadwatch.enabled=false");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("PlainTraining: done");
        assertThat(r.err()).contains("disabled by deadwatch.enabled").doesNotContain("monitoring trainer");
    }
}
