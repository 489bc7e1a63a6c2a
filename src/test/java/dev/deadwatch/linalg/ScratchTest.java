package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A thread's scratch buffers are reused per use, grown when asked for more, never shared across threads. */
class ScratchTest {

    @AfterEach
    void drop() {
        Scratch.release();
    }

    @Test
    void aUseGetsItsOwnBufferBackUntilMoreIsAskedThenAGrownOne() {
        double[] a = Scratch.take(Scratch.Use.GRAM, 100);
        assertThat(a).hasSize(100);
        assertThat(Scratch.take(Scratch.Use.GRAM, 40)).as("smaller: the same buffer").isSameAs(a);
        assertThat(Scratch.take(Scratch.Use.SYMMETRIC, 40)).as("another use: another buffer").isNotSameAs(a);
        double[] b = Scratch.take(Scratch.Use.GRAM, 101);
        assertThat(b).hasSize(101).isNotSameAs(a);
        assertThat(Scratch.take(Scratch.Use.GRAM, 100)).isSameAs(b);
        Scratch.release();
        assertThat(Scratch.take(Scratch.Use.GRAM, 10)).as("after release: new").isNotSameAs(b).hasSize(10);
    }

    @Test
    void threadsDoNotShareBuffersAndANegativeLengthIsNamed() throws Exception {
        double[] mine = Scratch.take(Scratch.Use.SYMMETRIC, 8);
        AtomicReference<double[]> theirs = new AtomicReference<>();
        Thread t = new Thread(() -> theirs.set(Scratch.take(Scratch.Use.SYMMETRIC, 8)));
        t.start();
        t.join();
        assertThat(theirs.get()).isNotNull().isNotSameAs(mine);
        assertThatThrownBy(() -> Scratch.take(Scratch.Use.SYMMETRIC, -3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-3");
    }
}
