package dev.deadwatch.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    /** Slow or idle connections held open while scrapes must still be answered (issue 12: at least 50). */
    private static final int SLOW_CLIENTS = 50;
    /** How fast a scrape must be answered with those connections open. */
    private static final Duration ANSWER_WITHIN = Duration.ofSeconds(2);
    /** Beyond the read timeout, how long the server may take to cut a slow request off (its timer ticks every second). */
    private static final int CUT_OFF_SLACK_SECONDS = 5;

    private static HttpResponse<String> send(HttpRequest r) throws Exception {
        return HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString());
    }

    /** A scrape that throws is answered 500 naming the failure, not dropped with an empty reply. */
    @Test
    void aFailingScrapeIsAnswered500WithItsCause() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) {
            @Override
            public String scrape() {
                throw new IllegalStateException("collector broke");
            }
        };
        try (MetricsServer s = MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, 0)) {
            HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/metrics")).build());
            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.body()).contains("scrape failed").contains("collector broke");
            assertThat(send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/healthz")).build())
                    .statusCode()).as("the server still serves").isEqualTo(200);
        }
    }

    @Test
    void servesOnlyGetMetricsAndHealthzOnLoopback() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("deadwatch.snapshots").tag("run", "t").register(reg).increment(3);
        try (MetricsServer s = MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, 0)) {
            assertThat(s.address().getAddress().isLoopbackAddress()).isTrue();
            assertThat(Thread.getAllStackTraces().keySet()).filteredOn(t -> t.getName().startsWith("HTTP-Dispatcher"))
                    .isNotEmpty().allSatisfy(t -> assertThat(t.isDaemon()).as("dispatcher is a daemon").isTrue());
            String base = "http://127.0.0.1:" + s.port();
            HttpResponse<String> metrics = send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            assertThat(metrics.body()).contains("deadwatch_snapshots_total{run=\"t\"} 3.0");
            assertThat(send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build()).body()).isEqualTo("ok\n");
            assertThat(send(HttpRequest.newBuilder(URI.create(base + "/")).build()).statusCode()).isEqualTo(404);
            assertThat(send(HttpRequest.newBuilder(URI.create(base + "/metrics/x")).build()).statusCode()).isEqualTo(404);
            HttpResponse<String> post = send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build());
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
        }
    }

    @Test
    void survivesMalformedAndOversizedRequestsAndManyConcurrentScrapes() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("deadwatch.snapshots").tag("run", "t").register(reg).increment(7);
        try (MetricsServer s = MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, 0)) {
            // garbage, a truncated request line, and a request with a 1 MiB header, on raw sockets
            String huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(1 << 20) + "\r\n\r\n";
            for (String raw : List.of("\u0000\u0001GARBAGE\r\n\r\n", "GET", huge)) {
                try (Socket sock = new Socket(InetAddress.getLoopbackAddress(), s.port())) {
                    sock.setSoTimeout(5000);
                    OutputStream out = sock.getOutputStream();
                    try {
                        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                        sock.shutdownOutput();
                        sock.getInputStream().readAllBytes(); // whatever the server answers, or a reset
                    } catch (IOException expected) {
                        // the server may close on us mid-write: that is a fine answer to garbage
                    }
                }
            }
            // many concurrent scrapes: every one answered in full
            String base = "http://127.0.0.1:" + s.port() + "/metrics";
            HttpClient client = HttpClient.newHttpClient();
            List<CompletableFuture<HttpResponse<String>>> scrapes = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                scrapes.add(client.sendAsync(HttpRequest.newBuilder(URI.create(base)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> f : scrapes) {
                HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("deadwatch_snapshots_total{run=\"t\"} 7.0");
            }
            assertThat(send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/healthz")).build())
                    .body()).as("still healthy after the abuse").isEqualTo("ok\n");
        }
    }

    @Test
    void scrapesAreAnsweredWhileFiftySlowClientsAreConnectedAndTheirRequestsAreCutOff() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter.builder("deadwatch.snapshots").tag("run", "t").register(reg).increment(5);
        List<Socket> slow = new ArrayList<>();
        try (MetricsServer s = MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, 0)) {
            // the two kinds of slow client: a request line and nothing more, or a single byte
            for (int i = 0; i < SLOW_CLIENTS; i++) {
                Socket sock = new Socket(InetAddress.getLoopbackAddress(), s.port());
                slow.add(sock);
                sock.getOutputStream().write((i % 2 == 0 ? "GET /metrics HTTP/1.1\r\n" : "G")
                        .getBytes(StandardCharsets.ISO_8859_1));
                sock.getOutputStream().flush();
            }
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(ANSWER_WITHIN).build();
            String base = "http://127.0.0.1:" + s.port();
            HttpResponse<String> metrics = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .timeout(ANSWER_WITHIN).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("deadwatch_snapshots_total{run=\"t\"} 5.0");
            HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create(base + "/healthz"))
                    .timeout(ANSWER_WITHIN).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(health.body()).isEqualTo("ok\n");
            // the request-read timeout: the server hangs up on every one of them
            for (Socket sock : slow) {
                sock.setSoTimeout((MetricsServer.READ_TIMEOUT_SECONDS + CUT_OFF_SLACK_SECONDS) * 1000);
                assertThat(hungUp(sock)).as("a slow request's connection is closed by the server").isTrue();
            }
        } finally {
            for (Socket sock : slow) {
                sock.close();
            }
        }
    }

    /** @return whether the server closed the connection (end of stream or reset) before the socket's timeout */
    private static boolean hungUp(Socket sock) throws IOException {
        try {
            return sock.getInputStream().read() == -1 || sock.getInputStream().read() == -1;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (SocketException reset) {
            return true;
        }
    }

    @Test
    void theJdkServersRequestAndResponseTimeoutsAreInForce() {
        assertThat(MetricsServer.configureJdkLimits())
                .containsEntry("sun.net.httpserver.maxReqTime", Integer.toString(MetricsServer.READ_TIMEOUT_SECONDS))
                .containsEntry("sun.net.httpserver.maxRspTime", Integer.toString(MetricsServer.WRITE_TIMEOUT_SECONDS));
    }

    @Test
    void aBusyPortIsRefusedNamingTheAddressAndTheCause() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (MetricsServer first = MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, 0)) {
            assertThatThrownBy(() -> MetricsServer.start(reg, MetricsServer.DEFAULT_HOST, first.port()))
                    .isInstanceOf(IOException.class)
                    .hasMessage("cannot bind the metrics endpoint to 127.0.0.1:" + first.port() + ": Address already in use");
        }
    }

    @Test
    void badPortIsRejectedNamingIt() {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        assertThatThrownBy(() -> MetricsServer.start(reg, "127.0.0.1", 70000)).hasMessageContaining("70000");
    }
}
