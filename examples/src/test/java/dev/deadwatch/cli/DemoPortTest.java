package dev.deadwatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A demo whose metrics port is taken ends with one line naming the address, not a stack trace. */
class DemoPortTest {

    @Test
    void aPortInUseEndsTheDemoWithOneLineAndExitCodeOne(@TempDir Path out) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            StringWriter err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute("demo", "node-death", "--port", String.valueOf(taken.getLocalPort()),
                    "--steps", "20", "--out", out.toString());
            assertThat(code).isEqualTo(1);
            assertThat(err.toString().strip().lines()).singleElement().asString()
                    .startsWith("deadwatch: ").contains("127.0.0.1:" + taken.getLocalPort());
        }
    }
}
