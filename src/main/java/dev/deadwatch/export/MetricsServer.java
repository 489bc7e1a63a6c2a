package dev.deadwatch.export;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A minimal HTTP endpoint: {@code GET /metrics} (Prometheus text format) and
 * {@code GET /healthz}; anything else is 404, any other method 405. Binds 127.0.0.1 unless told
 * otherwise. Every thread it uses is a daemon: it never keeps a finished program alive.
 */
public final class MetricsServer implements AutoCloseable {

    /** Default port. */
    public static final int DEFAULT_PORT = 9400;
    /** Default bind address. */
    public static final String DEFAULT_HOST = "127.0.0.1";

    private final HttpServer server;
    private final ExecutorService pool;

    private MetricsServer(HttpServer server, ExecutorService pool) {
        this.server = server;
        this.pool = pool;
    }

    /**
     * Starts serving.
     *
     * @param registry the registry to scrape
     * @param host bind address
     * @param port port, 0 for an ephemeral one
     * @return the running server
     * @throws IOException if the address cannot be bound (the message names it)
     */
    public static MetricsServer start(PrometheusMeterRegistry registry, String host, int port)
            throws IOException {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        HttpServer s;
        try {
            s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 16);
        } catch (IOException e) {
            throw new IOException("deadwatch cannot bind " + host + ":" + port + ": " + e.getMessage(), e);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "deadwatch-metrics-http");
            t.setDaemon(true);
            return t;
        });
        s.setExecutor(pool);
        s.createContext("/", ex -> handle(ex, registry));
        // the JDK server's dispatcher thread inherits daemon status from the thread that starts
        // it: start it from a daemon thread, so the endpoint never keeps a finished program alive
        Thread starter = new Thread(s::start, "deadwatch-metrics-start");
        starter.setDaemon(true);
        starter.start();
        try {
            starter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new MetricsServer(s, pool);
    }

    private static void handle(HttpExchange ex, PrometheusMeterRegistry registry) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            boolean metrics = "/metrics".equals(path);
            boolean health = "/healthz".equals(path);
            if (!metrics && !health) {
                send(ex, 404, "text/plain; charset=utf-8", "not found\n");
                return;
            }
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().add("Allow", "GET, HEAD");
                send(ex, 405, "text/plain; charset=utf-8", "method not allowed\n");
                return;
            }
            if (health) {
                send(ex, 200, "text/plain; charset=utf-8", "ok\n");
            } else {
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
            }
        }
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(code, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** @return the bound port */
    public int port() {
        return server.getAddress().getPort();
    }

    /** @return the bound address */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
        try {
            pool.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
