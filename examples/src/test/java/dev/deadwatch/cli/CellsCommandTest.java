package dev.deadwatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CellsCommandTest {

    @Test
    void jsonOutputParsesAndExitCodeIsZeroWhenAllPass() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = new CommandLine(new Main()).execute("cells", "--precision", "float32", "--json");
        } finally {
            System.setOut(old);
        }
        assertThat(code).isZero();
        JsonArray rows = JsonParser.parseString(buf.toString(StandardCharsets.UTF_8)).getAsJsonArray();
        assertThat(rows).hasSize(72);
        assertThat(rows.get(0).getAsJsonObject().get("precision").getAsString()).isEqualTo("float32");
        assertThat(rows.get(0).getAsJsonObject().get("pass").getAsBoolean()).isTrue();
    }

    @Test
    void badPrecisionIsAUsageErrorNamingTheValue() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Main());
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("cells", "--precision", "float16");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("'float16'");
    }
}
