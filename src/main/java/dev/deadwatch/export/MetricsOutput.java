package dev.deadwatch.export;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;

/**
 * Where a monitor's meters go: the user's registry, the built-in Prometheus endpoint, both
 * (through a composite), or, with neither, a {@link SimpleMeterRegistry} so the meters still
 * count for the program itself.
 */
public final class MetricsOutput implements AutoCloseable {

    private final MeterRegistry registry;
    private final PrometheusMeterRegistry prometheus;
    private final MetricsServer server;

    private MetricsOutput(MeterRegistry registry, PrometheusMeterRegistry prometheus, MetricsServer server) {
        this.registry = registry;
        this.prometheus = prometheus;
        this.server = server;
    }

    /**
     * @param user a registry to publish into, or {@code null}
     * @param host the endpoint's bind address
     * @param port the endpoint's port, 0 for an ephemeral one, negative for no endpoint
     * @return the output, its endpoint serving
     * @throws IOException when the endpoint's address cannot be bound (the message names it)
     */
    public static MetricsOutput open(MeterRegistry user, String host, int port) throws IOException {
        PrometheusMeterRegistry prometheus = port >= 0 ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : null;
        MeterRegistry registry;
        if (user != null && prometheus != null) {
            CompositeMeterRegistry composite = new CompositeMeterRegistry();
            composite.add(user);
            composite.add(prometheus);
            registry = composite;
        } else if (user != null) {
            registry = user;
        } else if (prometheus != null) {
            registry = prometheus;
        } else {
            registry = new SimpleMeterRegistry(); // nothing exported, but the meters still count
        }
        MetricsServer server = prometheus == null ? null : MetricsServer.start(prometheus, host, port);
        return new MetricsOutput(registry, prometheus, server);
    }

    /** @return the registry to bind the meters to */
    public MeterRegistry registry() {
        return registry;
    }

    /** @return the registry the endpoint serves, or {@code null} without an endpoint */
    public PrometheusMeterRegistry prometheus() {
        return prometheus;
    }

    /** @return the endpoint's port, or -1 without one */
    public int port() {
        return server == null ? -1 : server.port();
    }

    /** Stops the endpoint. */
    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
