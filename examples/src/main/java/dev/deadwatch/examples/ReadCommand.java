package dev.deadwatch.examples;

import ai.djl.nn.Block;
import dev.deadwatch.export.Json;
import dev.deadwatch.snapshot.Exported;
import dev.deadwatch.snapshot.Reread;
import dev.deadwatch.snapshot.Snapshot;
import dev.deadwatch.snapshot.SnapshotException;
import dev.deadwatch.snapshot.SnapshotReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code deadwatch read}: verifies a snapshot folder, runs its reads again on the saved parameters
 * and probe, and prints the numbers the live monitor exported for it (docs/snapshots.md).
 */
@Command(
        name = "read",
        mixinStandardHelpOptions = true,
        description = {
            "Verify a snapshot (its CHECKSUMS), run its reads again on the saved parameters and probe,",
            "and print what the live monitor exported for it: dead, structural and unresolved",
            "directions per layer, orders and census. Exit code 0 when the numbers are the ones the",
            "live monitor exported, 3 when they differ, 1 when the snapshot cannot be read."
        })
public final class ReadCommand implements Callable<Integer> {

    /** Exit code when the snapshot's numbers read again differ from those the live monitor exported. */
    public static final int DIFFERS = 3;
    /** Exit code when the snapshot cannot be read. */
    public static final int UNREADABLE = 1;

    /** The examples' models by their DJL model name (the name a snapshot records). */
    static final Map<String, Supplier<Block>> MODELS = models();

    private static Map<String, Supplier<Block>> models() {
        Map<String, Supplier<Block>> m = new LinkedHashMap<>();
        m.put("grokking", Grokking::model);
        m.put("node-death", NodeDeath::student);
        m.put("quickstart", Quickstart::mlp);
        return m;
    }

    @Parameters(index = "0", paramLabel = "FOLDER",
            description = "A snapshot folder (snapshot-<step>), or a run folder: its newest snapshot.")
    private Path folder;

    @Option(names = "--model", paramLabel = "NAME",
            description = "The model whose block reads the parameters: grokking, node-death or quickstart"
                    + " (default: the model the snapshot names).")
    private String model;

    @Option(names = "--order", description = "Run the order read even where it did not run live on this snapshot.")
    private boolean order;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    private boolean json;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Reread again;
        try {
            Snapshot s = SnapshotReader.open(folder);
            String name = model != null ? model : s.info().model();
            Supplier<Block> factory = MODELS.get(name);
            if (factory == null) {
                throw new ParameterException(spec.commandLine(), (model != null ? "--model must be one of "
                        : "the snapshot's model '" + name + "' is not an example's; give --model, one of ")
                        + MODELS.keySet() + (model != null ? ", got '" + model + "'" : ""));
            }
            again = SnapshotReader.reread(s, factory, order);
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("snapshot", s.folder().toString());
                doc.put("info", s.info());
                doc.put("reads", reads(again));
                doc.put("exported", again.exported());
                doc.put("differences", again.differences());
                doc.put("notes", again.notes());
                out.println(Json.gson().toJson(doc));
            } else {
                print(out, s, name, again);
            }
        } catch (SnapshotException e) {
            err.println("deadwatch read: " + e.getMessage());
            err.flush();
            return UNREADABLE;
        }
        out.flush();
        return again.differences().isEmpty() ? 0 : DIFFERS;
    }

    /** @return the reads that ran again, in the order they ran */
    private static java.util.List<String> reads(Reread again) {
        return again.info().reads().stream().filter(again.report().seconds()::containsKey).toList();
    }

    private static void print(PrintWriter out, Snapshot s, String model, Reread again) {
        Exported e = again.exported();
        out.printf(Locale.ROOT, "snapshot %s%n  run %s, model %s, step %d: every file matches its checksum%n",
                s.folder(), s.info().run(), s.info().model(), s.info().step());
        out.printf(Locale.ROOT, "  read again in %s on the %s model: %s%n", s.info().precision(), model,
                String.join(", ", reads(again)));
        if (e.orderStep() < 0) {
            out.println("  orders: no order read yet at this step");
        } else if (again.report().orderRead()) {
            out.println("  orders: read again on this snapshot");
        } else {
            out.printf(Locale.ROOT, "  orders: those of the order read at step %d, carried as the live monitor"
                    + " carries them (--order reads them on this snapshot)%n", e.orderStep());
        }
        int width = Math.max(5, e.dead().keySet().stream().mapToInt(String::length).max().orElse(0));
        String row = "%-" + width + "s %6s %11s %11s  %s%n";
        out.printf(Locale.ROOT, row, "layer", "dead", "structural", "unresolved", "orders");
        e.dead().forEach((layer, dead) -> out.printf(Locale.ROOT, row, layer, dead, e.structural().get(layer),
                e.unresolved().get(layer), e.orders().getOrDefault(layer, "")));
        e.orders().forEach((layer, orders) -> {
            if (!e.dead().containsKey(layer)) {
                out.printf(Locale.ROOT, row, layer, "", "", "", orders);
            }
        });
        e.orders().forEach((layer, orders) -> out.printf(Locale.ROOT, "  census %s: %s, sum 1/(2k) = %.4f%n", layer,
                DemoCommand.census(orders), e.lambdaDead().getOrDefault(layer, Double.NaN)));
        again.notes().forEach(n -> out.println("  note: " + n));
        if (again.differences().isEmpty() && again.sameOrderRead()) {
            out.println("  the numbers the live monitor exported for this step");
        } else if (again.differences().isEmpty()) {
            out.println("  structural and unresolved as exported; dead counts and orders not compared (the live"
                    + " export's rest on " + (s.info().exported().orderStep() < 0 ? "no order read"
                            : "the order read at step " + s.info().exported().orderStep()) + ")");
        } else {
            out.println("  differs from what the live monitor exported:");
            again.differences().forEach(d -> out.println("    " + d));
        }
    }
}
