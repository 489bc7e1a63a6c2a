package dev.deadwatch.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class MetricsServerTest {

    private static HttpResponse<String> send(HttpRequest r) throws Exception {
        return HttpClient.newHttpClient().send(r, HttpResponse.BodyHandlers.ofString());
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
    void badPortIsRejectedNamingIt() {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        assertThatThrownBy(() -> MetricsServer.start(reg, "127.0.0.1", 70000)).hasMessageContaining("70000");
    }
}
