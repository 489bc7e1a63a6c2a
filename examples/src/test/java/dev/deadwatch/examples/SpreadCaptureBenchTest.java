package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The spread-capture measurement's control: the probe's samples captured in 4 groups with no
 * training step between them and joined give every layer exactly the whole probe's count (the
 * forward is per sample), so what the measurement reports with steps between is the weights'.
 */
class SpreadCaptureBenchTest {

    @Test
    void groupsJoinedWithoutAStepBetweenGiveTheWholeProbesCountInEveryLayer() throws Exception {
        SpreadCaptureBench.Result control = SpreadCaptureBench.measure(MiniEncoder.Size.SMALL, 4, false);
        assertThat(control.layers()).as("leaf layers read").isGreaterThan(10);
        assertThat(control.deadAtFirst()).as("dead directions to compare").isPositive();
        assertThat(control.moving()).as("no step: no count moves").isZero();
        assertThat(control.outside()).as("joined groups = whole probe").isZero();
        assertThat(control.maxOff()).isZero();
    }

    @Test
    void aGroupCountThatDoesNotDivideTheProbeIsRefusedNamingIt() {
        assertThatThrownBy(() -> SpreadCaptureBench.measure(MiniEncoder.Size.SMALL, 3, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 3");
    }
}
