package dev.deadwatch.examples;

import dev.deadwatch.listener.DeadwatchListenerBuilder;
import dev.deadwatch.listener.DeadwatchListener;
import io.micrometer.core.instrument.MeterRegistry;
import dev.deadwatch.monitor.ReadSuite;
import java.nio.file.Path;

/**
 * How an example runs.
 *
 * @param steps optimizer steps, 0 for the example's default
 * @param interval snapshot interval, 0 for the example's default
 * @param host metrics endpoint host
 * @param port metrics endpoint port, -1 for none, 0 for ephemeral
 * @param out report and snapshot folder, or {@code null}
 * @param registry an extra registry to publish into, or {@code null}
 * @param progress whether to draw a progress bar on stderr
 * @param seed random seed
 * @param readObserver told of each read before it starts ({@code optReadObserver}), or {@code null}
 */
public record Settings(int steps, int interval, String host, int port, Path out, MeterRegistry registry,
        boolean progress, int seed, ReadSuite.ReadObserver readObserver) {

    /** @return settings for a test: defaults, no endpoint, no progress bar */
    public static Settings quiet() {
        return new Settings(0, 0, "127.0.0.1", -1, null, null, false, 42, null);
    }

    /** @return a copy with the step count */
    public Settings withSteps(int s) {
        return new Settings(s, interval, host, port, out, registry, progress, seed, readObserver);
    }

    /** @return a copy with the snapshot interval */
    public Settings withInterval(int i) {
        return new Settings(steps, i, host, port, out, registry, progress, seed, readObserver);
    }

    /** @return a copy with the metrics endpoint */
    public Settings withEndpoint(String h, int p) {
        return new Settings(steps, interval, h, p, out, registry, progress, seed, readObserver);
    }

    /** @return a copy with an extra registry */
    public Settings withRegistry(MeterRegistry r) {
        return new Settings(steps, interval, host, port, out, r, progress, seed, readObserver);
    }

    /** @return a copy with the output folder */
    public Settings withOut(Path o) {
        return new Settings(steps, interval, host, port, o, registry, progress, seed, readObserver);
    }

    /** @return a copy whose monitor tells {@code observer} of each read before it starts */
    public Settings withReadObserver(ReadSuite.ReadObserver observer) {
        return new Settings(steps, interval, host, port, out, registry, progress, seed, observer);
    }

    /**
     * Wires where these settings send a monitor's output into its builder.
     *
     * @param b the monitor's builder
     * @param serve whether this monitor serves the endpoint (when a port is set)
     * @param snapshots whether it writes snapshot files under {@code out/snapshots} (when set)
     * @return {@code b}
     */
    DeadwatchListenerBuilder exportTo(DeadwatchListenerBuilder b, boolean serve, boolean snapshots) {
        if (serve && port >= 0) {
            b.optPrometheusEndpoint(host, port);
        }
        if (registry != null) {
            b.optRegistry(registry);
        }
        if (readObserver != null) {
            b.optReadObserver(readObserver);
        }
        if (snapshots && out != null) {
            b.optOutputDirectory(out.resolve("snapshots"));
        }
        return b;
    }

    int stepsOr(int dflt) {
        return steps > 0 ? steps : dflt;
    }

    int intervalOr(int dflt) {
        return interval > 0 ? interval : dflt;
    }
}
