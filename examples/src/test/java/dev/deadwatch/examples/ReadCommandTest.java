package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.reflect.TypeToken;
import dev.deadwatch.cli.Main;
import dev.deadwatch.export.Json;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.TimelineRow;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 12 acceptance: {@code deadwatch read} on a demo's snapshot folder reproduces the run's last
 * exported dead counts and orders; a flipped byte is reported, not loaded.
 */
class ReadCommandTest {

    /** Steps of the node-death demo here: its surplus units are dying (all dead by about 700). */
    private static final int STEPS = 600;

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {}

    private static Run read(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 1];
        all[0] = "read";
        System.arraycopy(args, 0, all, 1, args.length);
        return new Run(cl.execute(all), out.toString(), err.toString());
    }

    @Test
    void readingTheDemosLastSnapshotReproducesItsExportedDeadCountsAndOrdersAndAFlippedByteIsReported() throws Exception {
        List<TimelineRow> rows;
        String run;
        NodeDeath.Result r = NodeDeath.run(Settings.quiet().withSteps(STEPS).withOut(tmp));
        try (DeadwatchListener monitor = r.monitor()) {
            rows = monitor.timeline();
            run = monitor.runId();
        }
        TimelineRow last = rows.get(rows.size() - 1);
        assertThat(last.step()).isEqualTo(STEPS);
        Map<String, String> lastOrders = rows.stream().filter(row -> !row.orders().isEmpty())
                .reduce((a, b) -> b).orElseThrow().orders();
        assertThat(lastOrders).as("the demo's last order read found dead units").isNotEmpty();

        Path runFolder = tmp.resolve("snapshots").resolve(run);
        Run json = read(runFolder.toString(), "--json");
        assertThat(json.code()).as(json.err()).isZero();
        JsonObject doc = JsonParser.parseString(json.out()).getAsJsonObject();
        assertThat(doc.get("snapshot").getAsString()).endsWith(String.format("snapshot-%010d", STEPS));
        JsonObject exported = doc.getAsJsonObject("exported");
        Map<String, Integer> dead = Json.gson().fromJson(exported.get("dead"), new TypeToken<Map<String, Integer>>() { }.getType());
        Map<String, String> orders = Json.gson().fromJson(exported.get("orders"), new TypeToken<Map<String, String>>() { }.getType());
        assertThat(dead).isEqualTo(last.dead());
        assertThat(dead.values().stream().mapToInt(Integer::intValue).sum()).as("dead directions").isPositive();
        assertThat(orders).isEqualTo(lastOrders);
        assertThat(doc.getAsJsonArray("differences")).isEmpty();

        Run table = read(runFolder.toString());
        assertThat(table.code()).as(table.err()).isZero();
        last.dead().forEach((layer, n) -> assertThat(table.out()).containsPattern("(?m)^" + java.util.regex.Pattern.quote(layer)
                + " +" + n + " +" + last.structural().get(layer) + " +" + last.unresolved().get(layer) + "\\b"));
        assertThat(table.out()).contains("the numbers the live monitor exported for this step");

        Run badModel = read(runFolder.toString(), "--model", "mnist");
        assertThat(badModel.code()).isEqualTo(2);
        assertThat(badModel.err()).contains("--model must be one of [grokking, node-death, quickstart], got 'mnist'");

        Path params = runFolder.resolve(String.format("snapshot-%010d", STEPS)).resolve("parameters.params");
        byte[] bytes = Files.readAllBytes(params);
        bytes[bytes.length / 2] ^= 0x04;
        Files.write(params, bytes);
        Run flipped = read(runFolder.toString());
        assertThat(flipped.code()).isEqualTo(ReadCommand.UNREADABLE);
        assertThat(flipped.err()).startsWith("deadwatch read: " + params + ": damaged");
        assertThat(flipped.out()).isEmpty();
    }

    @Test
    void anUnknownModelOrFolderIsNamed() {
        Run noFolder = read(tmp.resolve("nothing").toString());
        assertThat(noFolder.code()).isEqualTo(ReadCommand.UNREADABLE);
        assertThat(noFolder.err()).contains(tmp.resolve("nothing") + ": no such folder");
    }
}
