package dev.deadwatch.export;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A minimal HTTP endpoint: {@code GET /metrics} (Prometheus text format) and
 * {@code GET /healthz}; anything else is 404, any other method 405. Binds 127.0.0.1 unless told
 * otherwise. Every thread it uses is a daemon: it never keeps a finished program alive.
 *
 * <p>It is the JDK's own server ({@code jdk.httpserver}) with the limits that server documents,
 * set the way Prometheus' own {@code HTTPServer} sets them: as system properties, each only when
 * the program has not set it, before the JDK server is first used. A request whose line and
 * headers have not arrived within {@link #READ_TIMEOUT_SECONDS} has its connection closed
 * ({@code sun.net.httpserver.maxReqTime}), so does a response not written within
 * {@link #WRITE_TIMEOUT_SECONDS} ({@code sun.net.httpserver.maxRspTime}), and a connection idle for
 * the JDK's {@code sun.net.httpserver.idleInterval} (30 s by default). The JDK server reads a
 * request's headers on a handler thread, so a slow client holds one until it is timed out: the
 * handlers are a pool that grows on demand to {@link #MAX_HANDLER_THREADS} (idle ones beyond the
 * first {@link #CORE_HANDLER_THREADS} end after 30 s), which keeps scrapes answered while dozens of
 * slow clients are connected; past that a new connection is closed at once instead of queued.
 */
public final class MetricsServer implements AutoCloseable {

    /** Default port. */
    public static final int DEFAULT_PORT = 9400;
    /** Default bind address. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** Seconds a client may take to send its request line and headers before it is disconnected. */
    public static final int READ_TIMEOUT_SECONDS = 10;
    /** Seconds a client may take to read a response before it is disconnected. */
    public static final int WRITE_TIMEOUT_SECONDS = 60;
    /** Handler threads kept when idle (started with the server, so its thread count is fixed at rest). */
    public static final int CORE_HANDLER_THREADS = 2;
    /** Most handler threads at once: each slow client holds one until {@link #READ_TIMEOUT_SECONDS}. */
    public static final int MAX_HANDLER_THREADS = 128;
    /** Seconds an idle handler thread beyond the core ones lives. */
    private static final int HANDLER_KEEP_ALIVE_SECONDS = 30;
    /** The connection backlog of the listening socket. */
    private static final int BACKLOG = 64;

    /** The JDK server's limits this class sets, by system property: read once, by the JDK, at its first use. */
    private static final Map<String, String> LIMITS = Map.of(
            "sun.net.httpserver.maxReqTime", Integer.toString(READ_TIMEOUT_SECONDS),
            "sun.net.httpserver.maxRspTime", Integer.toString(WRITE_TIMEOUT_SECONDS));

    static {
        configureJdkLimits();
    }

    private final HttpServer server;
    private final ThreadPoolExecutor pool;

    private MetricsServer(HttpServer server, ThreadPoolExecutor pool) {
        this.server = server;
        this.pool = pool;
    }

    /**
     * Sets the JDK server's request and response timeouts ({@link #READ_TIMEOUT_SECONDS},
     * {@link #WRITE_TIMEOUT_SECONDS}) as system properties, each only if the program has not set it.
     * The JDK reads them once, when the first server of the JVM starts: the javaagent calls this
     * before the program runs; a library user whose program starts a JDK server of its own earlier
     * sets them itself. Idempotent.
     *
     * @return the limits in force now, property name to value (a value the program set wins)
     */
    public static synchronized Map<String, String> configureJdkLimits() {
        Map<String, String> inForce = new LinkedHashMap<>();
        LIMITS.forEach((key, value) -> {
            if (System.getProperty(key) == null) {
                System.setProperty(key, value);
            }
            inForce.put(key, System.getProperty(key));
        });
        return inForce;
    }

    /**
     * Starts serving.
     *
     * @param registry the registry to scrape
     * @param host bind address
     * @param port port, 0 for an ephemeral one
     * @return the running server
     * @throws IOException if the address cannot be bound: the message names {@code host:port} and
     *     the cause ({@code cannot bind the metrics endpoint to 127.0.0.1:9400: Address already in use})
     */
    public static MetricsServer start(PrometheusMeterRegistry registry, String host, int port)
            throws IOException {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        HttpServer s;
        try {
            s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), BACKLOG);
        } catch (IOException e) {
            throw new IOException("cannot bind the metrics endpoint to " + host + ":" + port + ": " + cause(e), e);
        }
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(CORE_HANDLER_THREADS, MAX_HANDLER_THREADS,
                HANDLER_KEEP_ALIVE_SECONDS, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "deadwatch-metrics-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        // a full pool refuses the connection (the JDK server closes it) rather than queueing it
        // behind slow clients; the core threads exist from the start, so the count at rest is fixed
        pool.prestartAllCoreThreads();
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

    /** The cause of a bind failure in words: the JDK's message, or the exception's name without one. */
    private static String cause(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
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
                String body;
                try {
                    body = registry.scrape();
                } catch (RuntimeException e) { // answered, not dropped: the scraper sees why
                    send(ex, 500, "text/plain; charset=utf-8", "scrape failed: " + e + "\n");
                    return;
                }
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", body);
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

    /** Stops serving: closes the socket and every connection, and ends the server's threads. */
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
