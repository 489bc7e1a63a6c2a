package dev.deadwatch.agent;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The agent's arguments, {@code key=value} pairs separated by commas:
 * {@code -javaagent:deadwatch-agent.jar=port=9400,every=100}.
 *
 * @param port metrics port (default 9400; 0 picks a free one)
 * @param host bind address (default 127.0.0.1)
 * @param every snapshot interval in steps (default 50)
 * @param order order read every this many snapshots (default 5)
 * @param budget fraction of wall time the reads may take (default 0.05)
 * @param probe probe samples collected from the first batches (default 0: automatic, twice the widest dense layer)
 * @param fisher whether to read the Fisher side (default true)
 * @param run the {@code run} label (default: generated)
 * @param out snapshot folder (default: none)
 * @param dump file the final scrape is written to at JVM exit (default: none)
 * @param copies whether reads run on the worker on copies of the parameters, training paused for the
 *     copy only (default true); {@code false} reads the model itself between steps, copying nothing
 */
public record AgentArgs(int port, String host, int every, int order, double budget, int probe,
        boolean fisher, String run, Path out, Path dump, boolean copies) {

    /** The accepted keys. */
    public static final Set<String> KEYS = Set.of("port", "host", "every", "order", "budget", "probe",
            "fisher", "run", "out", "dump", "copies");

    /** @return the defaults */
    public static AgentArgs defaults() {
        return new AgentArgs(9400, "127.0.0.1", 50, 5, 0.05, 0, true, null, null, null, true);
    }

    /**
     * @param text the agent argument string, may be null or empty
     * @return the parsed arguments
     * @throws IllegalArgumentException naming the bad key or value
     */
    public static AgentArgs parse(String text) {
        AgentArgs a = defaults();
        if (text == null || text.isBlank()) {
            return a;
        }
        int port = a.port;
        String host = a.host;
        int every = a.every;
        int order = a.order;
        double budget = a.budget;
        int probe = a.probe;
        boolean fisher = a.fisher;
        boolean copies = a.copies;
        String run = a.run;
        Path out = a.out;
        Path dump = a.dump;
        Set<String> seen = new HashSet<>();
        for (String part : text.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("agent argument '" + part + "' is not key=value");
            }
            String key = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = part.substring(eq + 1).trim();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown agent argument '" + key + "' (known: "
                        + String.join(", ", new java.util.TreeSet<>(KEYS)) + ")");
            }
            if (!seen.add(key)) {
                throw new IllegalArgumentException("agent argument '" + key + "' given twice");
            }
            switch (key) {
                case "port" -> port = integer(key, value, 0, 65535);
                case "host" -> {
                    if (value.isEmpty()) {
                        throw new IllegalArgumentException("host must not be empty");
                    }
                    host = value;
                }
                case "every" -> every = integer(key, value, 1, Integer.MAX_VALUE);
                case "order" -> order = integer(key, value, 1, Integer.MAX_VALUE);
                case "budget" -> {
                    try {
                        budget = Double.parseDouble(value);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("budget must be a number in (0,1], got '" + value + "'");
                    }
                    if (!(budget > 0 && budget <= 1)) {
                        throw new IllegalArgumentException("budget must be in (0,1], got '" + value + "'");
                    }
                }
                case "probe" -> {
                    probe = integer(key, value, 0, 1 << 20);
                    if (probe == 1) {
                        throw new IllegalArgumentException("probe must be 0 (automatic) or in 2.." + (1 << 20)
                                + ", got '" + value + "'");
                    }
                }
                case "fisher" -> fisher = bool(key, value);
                case "copies" -> copies = bool(key, value);
                case "run" -> {
                    if (!value.matches("[A-Za-z0-9_.:-]{1,64}")) {
                        throw new IllegalArgumentException(
                                "run must be 1-64 characters of [A-Za-z0-9_.:-], got '" + value + "'");
                    }
                    run = value;
                }
                case "out" -> out = path(key, value);
                case "dump" -> dump = path(key, value);
                default -> throw new AssertionError(key);
            }
        }
        return new AgentArgs(port, host, every, order, budget, probe, fisher, run, out, dump, copies);
    }

    private static int integer(String key, String value, int min, int max) {
        int v;
        try {
            v = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer in " + min + ".." + max
                    + ", got '" + value + "'");
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException(key + " must be in " + min + ".." + max + ", got '" + value + "'");
        }
        return v;
    }

    private static boolean bool(String key, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException(key + " must be true or false, got '" + value + "'");
        }
        return Boolean.parseBoolean(value);
    }

    private static Path path(String key, String value) {
        if (value.isEmpty()) {
            throw new IllegalArgumentException(key + " must be a path, got ''");
        }
        return Path.of(value);
    }
}
