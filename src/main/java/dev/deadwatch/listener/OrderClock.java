package dev.deadwatch.listener;

import dev.deadwatch.census.CensusRead;
import dev.deadwatch.monitor.ReadSuite;

/**
 * The read suite's observer: passes each read on to the user's observer and notes the worker's
 * clock ({@link ReadWorker#clock()}) when an order read starts, which splits a worker read's cost
 * into its order read and the rest. On a worker that trims, gives the C heap back between reads
 * ({@link ReadWorker#betweenReads()}).
 */
final class OrderClock implements ReadSuite.ReadObserver {

    private final ReadSuite.ReadObserver user;
    private volatile long start = Long.MIN_VALUE;

    /** @param user the observer the settings give */
    OrderClock(ReadSuite.ReadObserver user) {
        this.user = user;
    }

    @Override
    public void beforeRead(String read) throws Exception {
        ReadWorker.betweenReads();
        if (CensusRead.NAME.equals(read)) {
            start = ReadWorker.clock();
        }
        user.beforeRead(read);
    }

    @Override
    public void beforeRest(String read) throws Exception {
        user.beforeRest(read);
    }

    /** @return the worker's clock when its last order read started, {@link Long#MIN_VALUE} before any */
    long start() {
        return start;
    }
}
