package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 2, library use: an endpoint that cannot be bound fails {@code build()} with one
 * message naming the address and the cause, before any training; one that can is serving when
 * {@code build()} returns, and {@code close()} frees its port.
 */
class EndpointStartTest {

    @Test
    void aPortInUseFailsBuildNamingTheAddressAndTheCause() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> DeadwatchListener.builder().optPrometheusEndpoint("127.0.0.1", port).build())
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessage("cannot bind the metrics endpoint to 127.0.0.1:" + port + ": Address already in use");
        }
    }

    @Test
    void anAddressThatCannotBeResolvedFailsBuildNamingIt() {
        assertThatThrownBy(() -> DeadwatchListener.builder().optPrometheusEndpoint("no-such-host.invalid", 9400).build())
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageStartingWith("cannot bind the metrics endpoint to no-such-host.invalid:9400: ");
    }

    @Test
    void buildStartsTheEndpointAndCloseFreesItsPort() throws Exception {
        int port;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optPrometheusEndpoint("127.0.0.1", 0).build()) {
            port = monitor.port();
            assertThat(port).as("bound by build(), before any training").isPositive();
            HttpResponse<String> health = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.body()).isEqualTo("ok\n");
        }
        assertThat(refused(port)).as("the port is free after close()").isTrue();
    }

    @Test
    void withoutAnEndpointNothingIsBound() {
        try (DeadwatchListener monitor = DeadwatchListener.builder().build()) {
            assertThat(monitor.port()).isEqualTo(-1);
            assertThat(monitor.prometheusRegistry()).isNull();
        }
    }

    private static boolean refused(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
            return false;
        } catch (ConnectException e) {
            return true;
        }
    }
}
