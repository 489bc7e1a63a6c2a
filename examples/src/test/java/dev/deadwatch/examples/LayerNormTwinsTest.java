package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.reads.LayerNormResult;
import org.junit.jupiter.api.Test;

/** Issue acceptance: the kernel is read in the LayerNorm transformer and absent in its RMSNorm twin. */
class LayerNormTwinsTest {

    @Test
    void kernelPresentInTheLayerNormTwinAbsentInTheRmsNormTwin() throws Exception {
        LayerNormTwins.Result r = LayerNormTwins.run(Settings.quiet().withSteps(100));
        try (var a = r.layerNorm(); var b = r.rmsNorm()) {
            assertThat(r.layerNormReads()).hasSize(3); // attention, MLP and final norms
            assertThat(r.rmsNormReads()).hasSize(3);
            for (LayerNormResult ln : r.layerNormReads()) {
                assertThat(ln.kernel()).isTrue();
                assertThat(ln.rayleigh()).isLessThan(1e-6);
                assertThat(ln.alignment()).isGreaterThanOrEqualTo(0.9999);
                assertThat(ln.gammaMinAbs()).isPositive();
            }
            for (LayerNormResult rms : r.rmsNormReads()) {
                assertThat(rms.kernel()).isFalse();
                assertThat(rms.rayleigh()).isGreaterThan(1e-2);
            }
            assertThat(r.summary()).contains("LayerNorm").contains("RMSNorm");
        }
    }
}
