package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.listener.ReadSchedule.Action;
import dev.deadwatch.listener.ReadSchedule.Decision;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The read schedule's policy on an injected clock, without training. */
class ReadScheduleTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A clock the test moves. */
    private static final class Clock {
        long now;
    }

    @Test
    void withoutABudgetEverySnapshotStepIsReadAndTheOrderReadComesEveryNth() {
        Clock clock = new Clock();
        ReadSchedule s = new ReadSchedule(10, 1000, 3, 1.0, () -> clock.now);
        s.start();
        assertThat(s.decide(9)).isEqualTo(Decision.NONE);
        boolean[] withOrder = new boolean[6];
        for (int i = 0; i < 6; i++) {
            long step = 10L * (i + 1);
            clock.now += SECOND;
            Decision d = s.decide(step);
            assertThat(d.action()).isEqualTo(Action.READ);
            assertThat(d.budgetSkips()).isZero();
            withOrder[i] = d.withOrder();
            s.taken(step, d.withOrder());
            s.charge(10 * SECOND); // far over any budget: ignored without one
            s.cost(10 * SECOND, 0, d.withOrder());
        }
        assertThat(withOrder).containsExactly(false, false, true, false, false, true);
        assertThat(s.interval()).isEqualTo(10);
        assertThat(s.snapshots()).isEqualTo(6);
        assertThat(s.fits(Long.MAX_VALUE / 2)).isTrue();
    }

    @Test
    void overBudgetTheSnapshotIsRefusedAndTheIntervalDoublesUpToItsCap() {
        Clock clock = new Clock();
        ReadSchedule s = new ReadSchedule(10, 40, 100, 0.05, () -> clock.now);
        s.start();
        // the first snapshot is always read, and its cost is warm-up: not charged
        clock.now = SECOND;
        Decision first = s.decide(10);
        assertThat(first.action()).isEqualTo(Action.READ);
        s.taken(10, first.withOrder());
        s.charge(500 * MS);
        s.cost(500 * MS, 0, false);
        assertThat(s.charged()).isZero();
        // predicted: 0 charged + 500 ms for the next read over 2 s of wall time = 25% > 5%
        clock.now = 2 * SECOND;
        Decision d = s.decide(20);
        assertThat(d).isEqualTo(new Decision(Action.OVER_BUDGET, false, 1));
        assertThat(s.interval()).isEqualTo(20);
        assertThat(s.unread(20)).isTrue();
        clock.now = 3 * SECOND;
        assertThat(s.decide(40).action()).isEqualTo(Action.OVER_BUDGET);
        assertThat(s.interval()).isEqualTo(40);
        clock.now = 4 * SECOND;
        assertThat(s.decide(80).action()).isEqualTo(Action.OVER_BUDGET);
        assertThat(s.interval()).as("capped at maxInterval").isEqualTo(40);
        assertThat(s.snapshots()).isEqualTo(1);
    }

    @Test
    void aRefusedSnapshotAlsoCountsTheOrderReadDueWithIt() {
        Clock clock = new Clock();
        ReadSchedule s = new ReadSchedule(10, 1000, 2, 0.05, () -> clock.now);
        s.start();
        clock.now = SECOND;
        s.taken(10, s.decide(10).withOrder());
        s.cost(SECOND, 0, false); // warm-up
        s.charge(SECOND);
        clock.now = 2 * SECOND;
        assertThat(s.orderDue()).isTrue();
        assertThat(s.decide(20)).isEqualTo(new Decision(Action.OVER_BUDGET, false, 2));
    }

    @Test
    void anOrderReadThatWouldNotFitWaitsWhileTheSnapshotIsRead() {
        Clock clock = new Clock();
        ReadSchedule s = new ReadSchedule(10, 1000, 1, 0.05, () -> clock.now);
        s.start();
        clock.now = SECOND;
        s.taken(10, s.decide(10).withOrder());
        s.charge(100 * MS);
        s.cost(100 * MS, 90 * MS, true); // warm-up: 100 ms, of which the order read 90
        // at 100 s: a read without its order read (10 ms) fits, (4.95 + 0.01) / 100 < 5%, with it (+90 ms)...
        clock.now = 100 * SECOND;
        s.charge(4950 * MS); // ...on top of 4.95 s already spent would not: (4.95 + 0.01 + 0.09) / 100 > 5%
        Decision d = s.decide(20);
        assertThat(d).isEqualTo(new Decision(Action.READ, false, 1));
        assertThat(s.fits(90 * MS)).isFalse();
        assertThat(s.fits(60 * MS)).isFalse();
        assertThat(s.fits(40 * MS)).isTrue();
        assertThat(s.fits(0)).isTrue();
    }

    @Test
    void backUnderHalfTheBudgetTheIntervalHalvesBackToTheConfiguredOne() {
        Clock clock = new Clock();
        ReadSchedule s = new ReadSchedule(10, 1000, 1000, 0.05, () -> clock.now);
        s.start();
        clock.now = SECOND;
        s.taken(10, false);
        s.cost(SECOND, 0, false); // warm-up
        s.charge(SECOND);
        clock.now = 2 * SECOND;
        assertThat(s.decide(20).action()).isEqualTo(Action.OVER_BUDGET); // 1 s predicted over 2 s
        assertThat(s.decide(40).action()).isEqualTo(Action.OVER_BUDGET);
        assertThat(s.interval()).isEqualTo(40);
        // a cheap read now: charged 1 ms over 1000 s, far under half the budget
        s.cost(MS, 0, false);
        s.charge(MS);
        clock.now = 1000 * SECOND;
        assertThat(s.decide(80).action()).isEqualTo(Action.READ);
        assertThat(s.interval()).isEqualTo(20);
        assertThat(s.decide(100).action()).isEqualTo(Action.READ);
        assertThat(s.interval()).isEqualTo(10);
        assertThat(s.decide(110).action()).isEqualTo(Action.READ);
        assertThat(s.interval()).as("never below the configured interval").isEqualTo(10);
    }

    @Test
    void aDroppedSnapshotLeavesItsStepUnreadAndItsOrderReadDue() {
        ReadSchedule s = new ReadSchedule(5, 1000, 2, 1.0, () -> 0L);
        s.start();
        s.taken(5, false);
        assertThat(s.orderDue()).isTrue();
        s.taken(10, true);
        assertThat(s.orderDue()).isFalse();
        assertThat(s.unread(10)).isFalse();
        s.dropped();
        assertThat(s.orderDue()).as("the order read of the dropped snapshot stays due").isTrue();
        assertThat(s.unread(10)).as("the final read will take step 10 again").isTrue();
        assertThat(s.unread(5)).isFalse();
        assertThat(s.snapshots()).as("a dropped snapshot was still taken").isEqualTo(2);
    }

    @Test
    void theWorkerIsChargedTwiceOnlyWhenTrainingTakesEveryCoreUnderABudget() {
        assertThat(ReadWorker.chargeFor(true, 2, 2)).isEqualTo(ReadWorker.CONTENDED_CHARGE);
        assertThat(ReadWorker.chargeFor(true, -1, 2)).as("unknown counts as every core").isEqualTo(ReadWorker.CONTENDED_CHARGE);
        assertThat(ReadWorker.chargeFor(true, 1, 2)).isEqualTo(1);
        assertThat(ReadWorker.chargeFor(false, 2, 2)).isEqualTo(1);
    }
}
