package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BatchNormReadTest {

    @Test
    void channelsWhoseScaleVanishedAreDead() {
        BatchNormResult r = BatchNormRead.read("bn", new double[] {1.5, -2.0, 1e-4, 0.0, 0.5, -1e-3});
        assertThat(r.channels()).isEqualTo(6);
        assertThat(r.gammaMinAbs()).isZero();
        // below 1e-3 × 2.0 = 2e-3: 1e-4, 0 and -1e-3
        assertThat(r.deadChannels()).isEqualTo(3);
        assertThat(BatchNormRead.read("bn", new double[] {0, 0}).deadChannels()).as("all zero: all dead").isEqualTo(2);
        assertThat(BatchNormRead.read("bn", new double[] {1, -1, 2}).deadChannels()).isZero();
    }

    @Test
    void badScalesAreRefusedWithTheLayerNamed() {
        assertThatThrownBy(() -> BatchNormRead.read("02BatchNorm", new double[0])).hasMessageContaining("02BatchNorm");
        assertThatThrownBy(() -> BatchNormRead.read("02BatchNorm", new double[] {1, Double.NaN}))
                .hasMessageContaining("NaN");
    }
}
