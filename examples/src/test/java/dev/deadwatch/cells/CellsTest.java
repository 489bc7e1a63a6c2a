package dev.deadwatch.cells;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.deadwatch.capture.Precision;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The acceptance test of docs/method.md §6: every cell, both precisions, both bases. */
class CellsTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(Precision.class)
    void everyCellOfMethodSectionSixPasses(Precision precision) {
        try (NDManager m = NDManager.newBaseManager()) {
            List<CellResult> rows = Cells.run(precision, m);
            CellsPrinter.print(rows);
            assertThat(rows).hasSize(72);
            assertThat(rows).filteredOn(r -> !r.pass()).isEmpty();
            // every kind of cell is present, including the rotated-basis variants
            assertThat(rows).extracting(CellResult::cell).contains("y=a*s^5*x",
                    "mlp node death (relu2)", "mlp outgoing only (gelu)", "mlp incoming only (tanh)",
                    "layernorm kernel", "rmsnorm (no kernel)", "query-key rotation orbit",
                    "linear net rank deficit r=4", "census y=b*x1+a*s^3*x2");
            assertThat(rows).filteredOn(r -> r.variant().equals("rotated")).hasSizeGreaterThan(20);
        }
    }

    /** Keeps the table in the test report. */
    static final class CellsPrinter {
        static void print(List<CellResult> rows) {
            dev.deadwatch.cli.CellsCommand.print(rows, System.out);
        }
    }
}
