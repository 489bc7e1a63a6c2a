package dev.deadwatch.examples;

import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.TimelineRow;
import dev.deadwatch.regime.RegimeChange;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code deadwatch demo}: trains an example with the monitor, serves /metrics, writes a report. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Train an example with the monitor attached, serve /metrics while it runs, and write",
            "a run report (chart.png, timeline.csv, timeline.json) to --out."
        })
public final class DemoCommand implements Callable<Integer> {

    private static final int MAX_CHANGES_PRINTED = 10;


    @Parameters(index = "0", arity = "0..1", defaultValue = "grokking",
            paramLabel = "grokking|transformer|node-death|layernorm|minilm", description = "Which example (default: ${DEFAULT-VALUE}).")
    private String example;

    @Option(names = "--port", defaultValue = "9400", description = "Metrics port, 0 for any free one (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Metrics bind address (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--steps", defaultValue = "0", description = "Optimizer steps (default: the example's own).")
    private int steps;

    @Option(names = "--interval", defaultValue = "0", description = "Snapshot interval in steps (default: the example's own).")
    private int interval;

    @Option(names = "--out", defaultValue = "deadwatch-report", description = "Report folder (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    private int seed;

    @Option(names = "--linger", defaultValue = "0", description = "Seconds to keep serving /metrics after training (default: ${DEFAULT-VALUE}).")
    private int linger;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (steps < 0 || interval < 0 || linger < 0) {
            throw new ParameterException(spec.commandLine(), "--steps, --interval and --linger must be >= 0, got "
                    + steps + ", " + interval + ", " + linger);
        }
        if (port < 0 || port > 65535) {
            throw new ParameterException(spec.commandLine(), "--port must be in 0..65535, got " + port);
        }
        Settings s = new Settings(steps, interval, host, port, out, null, true, seed, null);
        DeadwatchListener monitor;
        String title;
        Report.Extras extras = null;
        switch (example) {
            case "node-death" -> {
                NodeDeath.Result r = NodeDeath.run(s);
                monitor = r.monitor();
                printChanges(r.changes());
                title = "node death: squared-ReLU teacher-student under weight decay";
            }
            case "grokking" -> {
                Grokking.Result r = Grokking.run(s);
                monitor = r.monitor();
                printChanges(r.changes());
                title = "grokking: modular addition mod " + Grokking.MODULUS;
            }
            case "transformer" -> {
                TransformerGrokking.Result r = TransformerGrokking.run(s);
                monitor = r.monitor();
                printChanges(r.changes());
                title = "grokking: one-layer transformer, modular addition mod " + TransformerGrokking.MODULUS;
                extras = r.extras();
                System.out.print(r.summary());
            }
            case "layernorm" -> {
                LayerNormTwins.Result r = LayerNormTwins.run(s);
                monitor = r.layerNorm();
                r.rmsNorm().close();
                title = "LayerNorm transformer (its RMSNorm twin reads no kernel)";
                System.out.println(r.summary());
            }
            case "minilm" -> {
                dev.deadwatch.minilm.MiniLmDemo.Result r = dev.deadwatch.minilm.MiniLmDemo.run(s, out);
                monitor = r.monitor();
                title = "all-MiniLM-L6-v2 fine-tuned on sentiment with negation";
                System.out.print(dev.deadwatch.minilm.MiniLmDemo.summary(r));
            }
            default -> throw new ParameterException(spec.commandLine(),
                    "example must be grokking, transformer, node-death, layernorm or minilm, got '" + example + "'");
        }
        try (monitor) {
            List<TimelineRow> rows = monitor.timeline();
            rows.stream().filter(row -> row.orders().values().stream().anyMatch(o -> !o.isEmpty()))
                    .reduce((first, second) -> second).ifPresent(row -> {
                        System.out.printf(Locale.ROOT, "last order read (step %d), dead directions per layer:%n",
                                row.step());
                        row.orders().forEach((layer, orders) -> {
                            if (!orders.isEmpty()) {
                                System.out.printf(Locale.ROOT, "  %s: %s%n", layer, census(orders));
                            }
                        });
                    });
            Path chart = Report.write(out, title, rows, extras);
            System.out.printf(Locale.ROOT, "run %s: %d reads, report in %s (chart %s)%n",
                    monitor.runId(), rows.size(), out.toAbsolutePath(), chart.getFileName());
            if (monitor.port() > 0) {
                System.out.printf(Locale.ROOT, "metrics: http://%s:%d/metrics%n", host, monitor.port());
                if (linger > 0) {
                    System.out.printf(Locale.ROOT, "serving for %d s more%n", linger);
                    Thread.sleep(linger * 1000L);
                }
            }
        }
        return 0;
    }

    /** @return e.g. {@code 6 × k=3} or {@code 2 × k=2, 1 × gauge} from {@code "3,3,3,3,3,3"} */
    static String census(String orders) {
        java.util.Map<String, Long> counts = new java.util.TreeMap<>();
        for (String o : orders.split(",")) {
            counts.merge(o.trim(), 1L, Long::sum);
        }
        List<String> parts = new java.util.ArrayList<>();
        counts.forEach((o, n) -> parts.add(n + " × " + (o.chars().allMatch(Character::isDigit) ? "k=" + o : o)));
        return String.join(", ", parts);
    }

    private static void printChanges(List<RegimeChange> changes) {
        System.out.printf(Locale.ROOT, "confirmed regime changes: %d%n", changes.size());
        changes.stream().limit(MAX_CHANGES_PRINTED).forEach(c -> System.out.println("  " + c.describe()));
        if (changes.size() > MAX_CHANGES_PRINTED) {
            System.out.printf(Locale.ROOT, "  ... (%d more in the log)%n", changes.size() - MAX_CHANGES_PRINTED);
        }
    }
}
