package dev.deadwatch.reads;

/**
 * A read in two parts. {@link #capture} is the part that needs the model (forward and backward
 * passes on the probe batch, parameter values): it runs where the model may be used, on the
 * training thread between steps when there is no replica. The {@link Rest} it returns is the part
 * that does not (covariance and Gram matrices built from what was captured, their
 * eigendecompositions): the monitor may run it later, on its read worker, on a
 * {@linkplain ReadContext#detach() detached} context whose {@link ReadContext#probe()} is not
 * available, while training goes on. Run in one go ({@link #read}) the two give what the read
 * always gave.
 *
 * <p>A rest may use the context's {@linkplain ReadContext#paths() block structure} (which blocks,
 * which parameters, their shapes), never parameter values: those are captured.
 */
public interface SplitRead extends Read {

    /**
     * The part that needs the model.
     *
     * @param ctx the snapshot
     * @return the rest, to run on {@code ctx} or on {@code ctx.detach()}
     */
    Rest capture(ReadContext ctx);

    /** Both parts, one after the other, on {@code ctx}. */
    @Override
    default void read(ReadContext ctx) {
        capture(ctx).finish(ctx);
    }

    /** The part of a split read that needs only what its capture kept. */
    @FunctionalInterface
    interface Rest {
        /**
         * @param ctx the snapshot (detached or not): where the results go, the recorded activations,
         *     the results of the reads before
         */
        void finish(ReadContext ctx);
    }
}
