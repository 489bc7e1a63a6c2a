package dev.deadwatch.regime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class RegimeTrackerTest {

    private static Signature sig(int dead, boolean kernel, Integer... orders) {
        return new Signature(dead, new TreeSet<>(Set.of(orders)), kernel);
    }

    @Test
    void aChangeIsConfirmedOnlyAfterPersistConsecutiveReads() {
        RegimeTracker t = new RegimeTracker(2);
        assertThat(t.observe("l", 100, sig(0, true))).isEmpty(); // opens regime 0
        assertThat(t.observe("l", 200, sig(2, true))).isEmpty(); // first differing read
        assertThat(t.observe("l", 300, sig(0, true))).isEmpty(); // back: pending reset
        assertThat(t.observe("l", 400, sig(2, true))).isEmpty();
        var c = t.observe("l", 500, sig(2, true));
        assertThat(c).isPresent();
        assertThat(c.get().regime()).isEqualTo(1);
        assertThat(c.get().step()).isEqualTo(500);
        assertThat(c.get().kinds()).containsExactly(ChangeKind.DEAD_UP);
        assertThat(t.regime("l")).isEqualTo(1);
        assertThat(t.observe("l", 600, sig(2, true))).isEmpty(); // steady
    }

    @Test
    void aBlipThatReturnsToTheCurrentRegimeNeverConfirms() {
        RegimeTracker t = new RegimeTracker(2);
        t.observe("l", 0, sig(0, false));
        for (int i = 1; i < 10; i++) {
            assertThat(t.observe("l", i, sig(i % 2 == 0 ? 0 : 4, false))).isEmpty();
        }
        assertThat(t.regime("l")).isZero();
    }

    @Test
    void aSteadyRiseConfirmsWithTheNewestSignature() {
        RegimeTracker t = new RegimeTracker(2);
        t.observe("l", 0, sig(1, false));
        assertThat(t.observe("l", 1, sig(3, false))).isEmpty();
        var c = t.observe("l", 2, sig(5, false)).orElseThrow();
        assertThat(c.from().dead()).isEqualTo(1);
        assertThat(c.to().dead()).isEqualTo(5);
        assertThat(c.kinds()).containsExactly(ChangeKind.DEAD_UP);
        // the new regime is the newest signature: the next rise counts from 5
        assertThat(t.observe("l", 3, sig(7, false))).isEmpty();
        assertThat(t.observe("l", 4, sig(9, false)).orElseThrow().from().dead()).isEqualTo(5);
    }

    @Test
    void kindsNameEverythingThatChanged() {
        assertThat(RegimeTracker.kinds(sig(3, true, 2), sig(1, false, 3)))
                .containsExactlyInAnyOrder(ChangeKind.DEAD_DOWN, ChangeKind.NEW_ORDER,
                        ChangeKind.ORDER_LOST, ChangeKind.KERNEL_LOST);
        assertThat(RegimeTracker.kinds(sig(1, false), sig(1, true))).isEmpty(); // kernel appearing
        RegimeTracker t = new RegimeTracker(1);
        t.observe("l", 0, sig(0, false));
        assertThat(t.observe("l", 1, sig(0, false, 3)).orElseThrow().kinds())
                .containsExactly(ChangeKind.NEW_ORDER);
    }

    @Test
    void layersAreIndependentAndBadPersistIsRejected() {
        RegimeTracker t = new RegimeTracker(1);
        t.observe("a", 0, sig(0, false));
        t.observe("b", 0, sig(5, false));
        assertThat(t.observe("a", 1, sig(1, false))).isPresent();
        assertThat(t.regime("b")).isZero();
        assertThatThrownBy(() -> new RegimeTracker(0)).hasMessageContaining("got 0");
        assertThatThrownBy(() -> sig(-1, false)).hasMessageContaining("-1");
    }

    @Test
    void aLargeCountChangesRegimeOnlyWhenItLeavesItsBand() {
        RegimeTracker t = new RegimeTracker(2);
        t.observe("l", 0, sig(40, false)); // band: ±floor(0.1 × 40) = ±4
        for (int dead : new int[] {43, 37, 44, 36, 40, 41}) {
            assertThat(t.observe("l", dead, sig(dead, false))).as("%d is noise around 40", dead).isEmpty();
        }
        assertThat(t.observe("l", 100, sig(45, false))).isEmpty(); // out of the band: pending
        var c = t.observe("l", 110, sig(46, false));
        assertThat(c).hasValueSatisfying(ch -> {
            assertThat(ch.kinds()).containsExactly(ChangeKind.DEAD_UP);
            assertThat(ch.to().dead()).isEqualTo(46);
        });
        // a small count: one direction flickering is not a regime, two are; the first death always is
        RegimeTracker small = new RegimeTracker(1);
        small.observe("s", 0, sig(0, false));
        assertThat(small.observe("s", 1, sig(1, false))).as("0 -> 1").isPresent();
        assertThat(small.observe("s", 2, sig(2, false))).as("1 -> 2").isEmpty();
        assertThat(small.observe("s", 3, sig(0, false))).as("1 -> 0").isEmpty();
        assertThat(small.observe("s", 4, sig(3, false))).as("1 -> 3").isPresent();
    }

    @Test
    void withinTheBandAChangeOfOrdersIsStillAChangeButNotOfTheCount() {
        RegimeTracker t = new RegimeTracker(1);
        t.observe("l", 0, sig(30, false));
        var c = t.observe("l", 1, sig(32, false, 2));
        assertThat(c).hasValueSatisfying(ch -> assertThat(ch.kinds()).containsExactly(ChangeKind.NEW_ORDER));
    }
}
