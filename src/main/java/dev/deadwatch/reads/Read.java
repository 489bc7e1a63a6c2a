package dev.deadwatch.reads;

/**
 * One read of a snapshot: a class that reads the model bound to its probe batch and adds its
 * results to the {@link ReadContext}. The monitor runs its reads in order on every snapshot
 * (the read suite), times each under its {@link #name()}, and hands the results to whoever
 * consumes the report: the Micrometer export, the regime tracker, the snapshot files and the
 * user's {@code onReport} callback.
 *
 * <p>A new read is one class implementing this interface plus its registration in the suite
 * (for the live monitor: {@code DeadwatchListenerBuilder.optReads}). Its time is exported as
 * {@code deadwatch_read_seconds{read="<name>"}}; its results are found by type in the report.
 *
 * <p>Threading: a read runs on one thread at a time, on the training thread between steps or
 * on the read worker on a replica. It may perturb parameters only if it restores them
 * bit-exactly. Every NDArray it creates must be attached to {@link ReadContext#scratch()} or a
 * sub-manager it closes.
 */
public interface Read {

    /** @return the read's name: lower case, stable (a label value of {@code deadwatch_read_seconds}) */
    String name();

    /**
     * @param ctx the snapshot
     * @return whether this read has anything to do on this snapshot (default: always); a read
     *     that does not apply is not run and not timed
     */
    default boolean appliesTo(ReadContext ctx) {
        return true;
    }

    /** @return whether the read uses {@link ReadContext#activations()} (the suite frees them after the last such read) */
    default boolean needsActivations() {
        return false;
    }

    /**
     * Reads one snapshot.
     *
     * @param ctx the snapshot, the results of the reads before this one, and where to put this one's
     */
    void read(ReadContext ctx);
}
