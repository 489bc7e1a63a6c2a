package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.deadwatch.capture.ParameterState;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-sample-gradient Gram of one Linear layer from what {@link FisherGramRead}'s passes kept
 * of it: per pass, the layer's input {@code a} and output gradient {@code δ} for that pass's
 * samples. {@code G_ss' = Σ_{t,t'} (a_st·a_s't')(δ_st·δ_s't')} over the positions {@code t} of
 * sample {@code s} and {@code t'} of {@code s'}, in float64, built block by block: consecutive
 * passes are joined into chunks of at most {@link #BLOCK_ROWS} rows (a copy, one layer at a time)
 * and each pair of chunks is one block, so the engine's product is at most {@code BLOCK_ROWS²}
 * entries, and the number of operations (each of which allocates Java objects besides its array)
 * grows with the chunks, not with the passes.
 */
final class PassGram {

    /**
     * Rows (samples × positions) a chunk holds at most: a block's product is at most
     * {@code BLOCK_ROWS²} float64 entries, 2 MB. The MiniLM-size encoder's probe (16 × 64 tokens,
     * read in passes of 2 sequences) is two chunks, three blocks a layer, where a block per pair of
     * passes had been 36: their operations' Java objects were about 90 MB of the read worker's Java
     * allocation over a 24-step run, most of it.
     */
    static final int BLOCK_ROWS = 512;

    private PassGram() {}

    /**
     * @param inputs the layer's input, one array per pass
     * @param deltas its output gradient, one array per pass
     * @param perPass samples per pass (the last pass may have fewer)
     * @param n samples in all
     * @param m manager for temporaries
     * @return row-major {@code n × n} Gram
     * @throws IllegalStateException when a pass's rows are not a whole number per sample, or its
     *     inputs and gradients have different rows
     */
    static double[] of(List<NDArray> inputs, List<NDArray> deltas, int perPass, int n, NDManager m) {
        double[] out = new double[n * n];
        try (NDManager s = m.newSubManager()) {
            List<NDArray> a = new ArrayList<>();
            List<NDArray> d = new ArrayList<>();
            List<Integer> first = new ArrayList<>(List.of(0));
            int next = 0;
            for (int i = 0; i < inputs.size();) {
                NDList ca = new NDList();
                NDList cd = new NDList();
                long rows = 0;
                do {
                    int mi = Math.min(n, next + perPass) - next;
                    NDArray ai = rows(inputs.get(i), s);
                    NDArray di = rows(deltas.get(i), s);
                    if (ai.getShape().get(0) % mi != 0 || di.getShape().get(0) != ai.getShape().get(0)) {
                        throw new IllegalStateException("a pass of " + mi + " samples gave the layer " + ai.getShape()
                                + " input rows and " + di.getShape() + " output-gradient rows: not a whole number"
                                + " of rows per sample");
                    }
                    ca.add(ai);
                    cd.add(di);
                    rows += ai.getShape().get(0);
                    next += mi;
                    i++;
                } while (i < inputs.size() && rows + rowsOf(inputs.get(i)) <= BLOCK_ROWS);
                a.add(joined(ca, s));
                d.add(joined(cd, s));
                first.add(next);
            }
            for (int p = 0; p < a.size(); p++) {
                for (int q = p; q < a.size(); q++) {
                    block(a, d, first, p, q, n, out, s);
                }
            }
        }
        return out;
    }

    /** Writes the block of chunks {@code p, q} (and its transpose) into {@code out}. */
    private static void block(List<NDArray> a, List<NDArray> d, List<Integer> first, int p, int q, int n,
            double[] out, NDManager s) {
        int fp = first.get(p);
        int fq = first.get(q);
        int mp = first.get(p + 1) - fp;
        int mq = first.get(q + 1) - fq;
        long tp = a.get(p).getShape().get(0) / mp; // positions per sample
        long tq = a.get(q).getShape().get(0) / mq;
        try (NDManager b = s.newSubManager()) {
            NDArray prod = a.get(p).matMul(a.get(q).transpose()).mul(d.get(p).matMul(d.get(q).transpose()));
            NDArray blk = prod.reshape(mp, tp, mq, tq).sum(new int[] {1, 3});
            prod.attach(b);
            blk.attach(b);
            double[] v = ParameterState.toDoubles(blk);
            for (int i = 0; i < mp; i++) {
                for (int j = 0; j < mq; j++) {
                    out[(fp + i) * n + fq + j] = v[i * mq + j];
                    out[(fq + j) * n + fp + i] = v[i * mq + j];
                }
            }
        }
    }

    /** @return the rows of {@code x} laid out as (rows, last axis) */
    private static long rowsOf(NDArray x) {
        return x.getShape().size() / Math.max(1, x.getShape().tail());
    }

    /** @return the chunk's passes joined along their rows (one pass: itself) */
    private static NDArray joined(NDList parts, NDManager s) {
        if (parts.size() == 1) {
            return parts.head();
        }
        NDArray j = NDArrays.concat(parts, 0);
        j.attach(s);
        return j;
    }

    /** @return {@code x} as float64 rows (samples × positions, features) in {@code s} */
    private static NDArray rows(NDArray x, NDManager s) {
        NDArray f = x.toType(DataType.FLOAT64, false);
        NDArray r = f.reshape(-1, x.getShape().tail());
        if (f != x) {
            f.attach(s);
        }
        r.attach(s);
        return r;
    }
}
