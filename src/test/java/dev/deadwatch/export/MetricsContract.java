package dev.deadwatch.export;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names of the repository's contract, {@code docs/metrics.md}, as Prometheus spells
 * them (counters with {@code _total}, timers as {@code _seconds_count/_sum/_max}): the one source
 * the tests check the export against.
 */
public final class MetricsContract {

    /** The contract, from the core module's directory (Surefire's working directory). */
    public static final Path FILE = Path.of("..", "docs", "metrics.md").toAbsolutePath().normalize();

    private MetricsContract() {}

    /** @return every name of the contract's table ({@link #FILE}) */
    public static Set<String> names() {
        return names(FILE);
    }

    /**
     * @param file the contract ({@code docs/metrics.md}): table rows {@code | `deadwatch_…` | type | …}
     * @return every name of its table
     */
    public static Set<String> names(Path file) {
        Set<String> names = new LinkedHashSet<>();
        Pattern row = Pattern.compile("^\\| (`deadwatch_[^|]+)\\|\\s*(\\w+)");
        Pattern name = Pattern.compile("`(deadwatch_\\w+)`");
        try {
            for (String line : Files.readAllLines(file)) {
                Matcher r = row.matcher(line);
                if (!r.find()) {
                    continue;
                }
                Matcher n = name.matcher(r.group(1));
                while (n.find()) {
                    if (r.group(2).equals("timer")) {
                        for (String suffix : List.of("_count", "_sum", "_max")) {
                            names.add(n.group(1) + suffix);
                        }
                    } else {
                        names.add(n.group(1));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("the metric contract " + file + " cannot be read", e);
        }
        return names;
    }
}
