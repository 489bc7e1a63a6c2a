package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.reads.LayerNormResult;
import org.junit.jupiter.api.Test;

/**
 * Issue acceptance: the kernel is read in the LayerNorm transformer and absent in its RMSNorm twin.
 *
 * <p>The one-block transformer turns non-finite at random steps on this engine, with or without the
 * monitor (the open transformer issue's first item; docs/findings.md): a run whose twin went
 * non-finite before its first read has no norm read to check, and is run again with the next seed
 * (at most {@link #SEEDS}); the monitor itself counts such snapshots as {@code nonfinite}.
 */
class LayerNormTwinsTest {

    /** Seeds tried until both twins stay finite through a read. */
    private static final int SEEDS = 4;

    @Test
    void kernelPresentInTheLayerNormTwinAbsentInTheRmsNormTwin() throws Exception {
        LayerNormTwins.Result r = null;
        for (int seed = 42; seed < 42 + SEEDS; seed++) {
            LayerNormTwins.Result run = LayerNormTwins.run(new Settings(100, 0, "127.0.0.1", -1, null, null, false,
                    seed, null));
            if (run.layerNormReads().size() == 3 && run.rmsNormReads().size() == 3) {
                r = run;
                break;
            }
            run.layerNorm().close();
            run.rmsNorm().close();
        }
        assertThat(r).as("a run of both twins that stayed finite in %d seeds", SEEDS).isNotNull();
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
