package dev.deadwatch.cli;

import ai.djl.ndarray.NDManager;
import dev.deadwatch.export.Json;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.cells.CellResult;
import dev.deadwatch.cells.Cells;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code deadwatch cells}: the known-answer cells of docs/method.md §6, as a table or JSON. */
@Command(
        name = "cells",
        mixinStandardHelpOptions = true,
        description = {
            "Build every cell of docs/method.md §6 as a real DJL block, run the reads, and compare with",
            "the known answer. Exit code 1 if any cell fails."
        })
public final class CellsCommand implements Callable<Integer> {

    @Option(names = "--precision", paramLabel = "float32|float64|all", defaultValue = "all",
            description = "Precision of the reads (default: ${DEFAULT-VALUE}).")
    private String precision;

    @Option(names = "--json", description = "Print the rows as JSON instead of a table.")
    private boolean json;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        List<Precision> precisions;
        try {
            precisions = "all".equalsIgnoreCase(precision)
                    ? List.of(Precision.FLOAT64, Precision.FLOAT32)
                    : List.of(Precision.parse(precision));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "--precision must be float32, float64 or all, got '" + precision + "'");
        }
        List<CellResult> rows = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (Precision p : precisions) {
                rows.addAll(Cells.run(p, m));
            }
        }
        PrintStream out = System.out;
        if (json) {
            out.println(Json.gson().toJson(rows));
        } else {
            print(rows, out);
        }
        return rows.stream().allMatch(CellResult::pass) ? 0 : 1;
    }

    /**
     * Prints the rows as an aligned text table with a closing {@code N passed, N failed} line.
     *
     * @param rows the rows
     * @param out where to print
     */
    public static void print(List<CellResult> rows, PrintStream out) {
        String[] head = {"cell", "variant", "precision", "quantity", "predicted", "recovered", "tolerance", "result"};
        List<String[]> table = new ArrayList<>();
        table.add(head);
        for (CellResult r : rows) {
            table.add(new String[] {r.cell(), r.variant(), r.precision(), r.quantity(), r.predicted(),
                r.recovered(), r.tolerance(), r.pass() ? "pass" : "FAIL"});
        }
        int[] w = new int[head.length];
        for (String[] row : table) {
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        for (String[] row : table) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                sb.append(String.format(Locale.ROOT, "%-" + w[i] + "s", row[i]));
                if (i + 1 < w.length) {
                    sb.append("  ");
                }
            }
            out.println(sb.toString().stripTrailing());
        }
        long passed = rows.stream().filter(CellResult::pass).count();
        out.println("cells: " + passed + " passed, " + (rows.size() - passed) + " failed");
    }
}
