package dev.deadwatch.dashboards;

import dev.deadwatch.export.MetricsContract;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Paths and tools the dashboard and rule tests share. */
final class Repo {

    /** The module directory ({@code dashboards/}), where the dashboards and rules live. */
    static final Path DASHBOARDS = Path.of("").toAbsolutePath();
    static final Path DASHBOARD = DASHBOARDS.resolve("deadwatch-overview.json");
    static final Path RULES = DASHBOARDS.resolve("deadwatch-alerts.yaml");
    static final Path RULE_TESTS = DASHBOARDS.resolve("deadwatch-alerts.test.yaml");
    static final Path RUNBOOK = DASHBOARDS.resolve("RUNBOOK.md");
    /** The metric contract: {@code docs/metrics.md} in this repository (its table rows are parsed). */
    static final Path METRICS_CONTRACT = DASHBOARDS.resolve("../docs/metrics.md").normalize();

    /** The eight alerts the rule file must define. */
    static final List<String> ALERTS = List.of("DeadwatchNewSingularRegime", "DeadwatchDeadDirectionsRising",
            "DeadwatchNewOrder", "DeadwatchLayerNormKernelLost", "DeadwatchMonitorStalled",
            "DeadwatchReadsFailing", "DeadwatchNonFiniteModel", "DeadwatchProbeTooSmall");

    private Repo() {}

    /** Output and exit code of a finished process. */
    record Run(int exit, String output) {}

    static Run run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish in 120 s");
        }
        return new Run(p.exitValue(), out);
    }

    /** @return an executable on the PATH, or a failure saying how to install it */
    static String tool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new IllegalStateException(name + " not found on PATH: run scripts/setup.sh (apt-get install -y prometheus)");
    }

    /**
     * The metric names of the contract, as Prometheus spells them (counters with {@code _total},
     * timers with {@code _seconds_count/_sum/_max}), parsed by the core's test of the export
     * ({@link MetricsContract}) from {@link #METRICS_CONTRACT}: one parser for every check.
     */
    static Set<String> contractNames() throws IOException {
        return MetricsContract.names(METRICS_CONTRACT);
    }

    /** @return every {@code deadwatch_*} metric name an expression uses */
    static List<String> metricsIn(String expr) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\b(deadwatch_\\w+)").matcher(expr);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
