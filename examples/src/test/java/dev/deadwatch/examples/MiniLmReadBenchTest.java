package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.deadwatch.linalg.Eigensolver;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pure parts of the MiniLM section and of writing a section run alone into the report. */
class MiniLmReadBenchTest {

    @Test
    void theSpeedUpIsTheMedianOfThePairedRatiosWithTheirRange() {
        // paired per repeat: 10/2 = 5, 9/3 = 3, 12/2 = 6 (not the ratio of the medians, 10/2)
        List<Double> before = List.of(10.0, 9.0, 12.0);
        List<Double> after = List.of(2.0, 3.0, 2.0);
        assertThat(MiniLmReadBench.ratios(before, after)).containsExactly(5.0, 3.0, 6.0);
        assertThat(MiniLmReadBench.speedup(before, after)).isEqualTo("5.0× [3.0×..6.0×]");
        assertThat(MiniLmReadBench.speedup(List.of(), List.of())).isEqualTo("—");
        assertThatThrownBy(() -> MiniLmReadBench.ratios(before, List.of(1.0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 and 1");
    }

    @Test
    void theSolversAlternateInOrderFromRepeatToRepeat() {
        assertThat(MiniLmReadBench.order(-1)).containsExactly(Eigensolver.LAPACK, Eigensolver.EJML);
        assertThat(MiniLmReadBench.order(0)).containsExactly(Eigensolver.EJML, Eigensolver.LAPACK);
        assertThat(MiniLmReadBench.order(1)).containsExactly(Eigensolver.LAPACK, Eigensolver.EJML);
    }

    @Test
    void aSectionRunAloneReplacesItsNamesakeAndKeepsTheOthers() {
        String report = "# deadwatch benchmarks\n\nheader\n\n## A\n\nold a\n\n## B\n\nold b\n### sub\nmore b\n\n## C\n\nc\n";
        String spliced = BenchCommand.splice(report, "## B\n\nnew b\n\n", "Run alone.\n\n");
        assertThat(spliced).isEqualTo(
                "# deadwatch benchmarks\n\nheader\n\n## A\n\nold a\n\n## B\n\nRun alone.\n\nnew b\n\n## C\n\nc\n");
        // the last section, and a new one (appended)
        assertThat(BenchCommand.splice(report, "## C\n\nnew c\n", "N.\n\n")).endsWith("## B\n\nold b\n### sub\nmore b\n\n## C\n\nN.\n\nnew c\n");
        assertThat(BenchCommand.splice(report, "## D\n\nd\n\n", "N.\n\n")).isEqualTo(report + "\n## D\n\nN.\n\nd\n");
        // a heading that merely starts like another is not it
        assertThat(BenchCommand.splice("## Bee\n\nx\n", "## B\n\ny\n", "")).isEqualTo("## Bee\n\nx\n\n## B\n\ny\n");
        assertThatThrownBy(() -> BenchCommand.splice(report, "no heading", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no heading");
    }
}
