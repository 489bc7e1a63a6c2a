package dev.deadwatch.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ReducedRankRegressionTest {

    @ParameterizedTest(name = "M={0} N={1} H=r={2}: half the dimension of rank-H matrices")
    @CsvSource({"1,1,1", "3,2,1", "5,5,3", "4,7,2", "10,3,3", "6,6,6", "12,6,5"})
    void fullRankGivesHalfTheDimensionOfRankHMatrices(int m, int n, int h) {
        assertThat(ReducedRankRegression.of(m, n, h, h).lambda()).isEqualTo(h * (m + n - h) / 2.0);
    }

    @Test
    void smallestCaseIsOneHalfWithMultiplicityTwo() {
        ReducedRankRegression r = ReducedRankRegression.of(1, 1, 1, 0);
        assertThat(r.lambda()).isEqualTo(0.5);
        assertThat(r.multiplicity()).isEqualTo(2);
    }

    @Test
    void caseOneEvenAndTheOtherBranches() {
        // M=2 N=2 H=2 r=0: case 1, s = 2*2*4 - 0 - 4 = 12, M+H+N+r = 6 even: λ = 12/8, m = 1
        ReducedRankRegression a = ReducedRankRegression.of(2, 2, 2, 0);
        assertThat(a.lambda()).isEqualTo(1.5);
        assertThat(a.multiplicity()).isEqualTo(1);
        // M=1 N=6 H=2 r=1: M+H=3 < N+r=7: λ = (HM - Hr + Nr)/2 = (2 - 2 + 6)/2 = 3
        assertThat(ReducedRankRegression.of(1, 6, 2, 1).lambda()).isEqualTo(3.0);
        // M=6 N=1 H=2 r=1: N+H=3 < M+r=7: λ = (HN - Hr + Mr)/2 = (2 - 2 + 6)/2 = 3
        assertThat(ReducedRankRegression.of(6, 1, 2, 1).lambda()).isEqualTo(3.0);
        // M=1 N=1 H=3 r=1: M+N=2 < H+r=4: λ = MN/2
        assertThat(ReducedRankRegression.of(1, 1, 3, 1).lambda()).isEqualTo(0.5);
    }

    @Test
    void badDimensionsAreNamed() {
        assertThatThrownBy(() -> ReducedRankRegression.of(0, 1, 1, 0)).hasMessageContaining("M=0");
        assertThatThrownBy(() -> ReducedRankRegression.of(2, 2, 2, 3)).hasMessageContaining("got 3");
        assertThatThrownBy(() -> ReducedRankRegression.of(12, 6, 8, 8))
                .hasMessageContaining("min(H, M, N)=6");
    }
}
