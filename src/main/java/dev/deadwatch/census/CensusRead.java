package dev.deadwatch.census;

import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.reads.Read;
import dev.deadwatch.reads.ReadContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

/**
 * The order read of a snapshot (docs/method.md §3–§4): every detector's candidates, each read
 * by {@link OrderRead} (one {@link OrderResult} per candidate), then one {@link Census} per layer.
 *
 * <p>Budget: after the first candidate the cost of the rest is estimated (first candidate's
 * time × candidates left) and offered to {@link ReadContext#fits}; when refused, the read stops
 * and adds nothing (a partial census would undercount), and is marked
 * {@linkplain ReadContext#abandon abandoned}.
 *
 * <p>Sample: at most {@code maxPerLayer} candidates of a layer are read, chosen by a shuffle seeded
 * from the seed and the layer's path (the same choice at every snapshot while the detectors supply
 * the same candidates), and kept in the detectors' order; then at most {@code maxTotal} in all:
 * whole layers' samples, taken in a seeded order of the layers from a place that moves with the
 * snapshot's step, so that successive order reads cover every layer. An {@link OrderSample} per
 * layer says how many of how many (0 read: not this time).
 */
public final class CensusRead implements Read {

    /** The name of this read, {@code order}. */
    public static final String NAME = "order";

    /** Candidates read per layer by default: bounds the order read of a wide model (issue 14). */
    public static final int DEFAULT_MAX_PER_LAYER = 2;
    /** Candidates read per order read by default. */
    public static final int DEFAULT_MAX_TOTAL = 8;

    private final OrderRead order;
    private final List<Detector> detectors;
    private final long seed;
    private final int maxPerLayer;
    private final int maxTotal;

    /**
     * @param detectors detectors supplying the candidates
     * @param seed seed of the order read's reference directions
     */
    public CensusRead(List<Detector> detectors, long seed) {
        this(detectors, seed, DEFAULT_MAX_PER_LAYER, DEFAULT_MAX_TOTAL);
    }

    /**
     * @param detectors detectors supplying the candidates
     * @param seed seed of the order read's reference directions and of the sample
     * @param maxPerLayer candidates read per layer at most, at least 1 ({@link Integer#MAX_VALUE}: all)
     */
    public CensusRead(List<Detector> detectors, long seed, int maxPerLayer) {
        this(detectors, seed, maxPerLayer, Integer.MAX_VALUE);
    }

    /**
     * @param detectors detectors supplying the candidates
     * @param seed seed of the order read's reference directions and of the sample
     * @param maxPerLayer candidates read per layer at most, at least 1
     * @param maxTotal candidates read in all at most, at least {@code maxPerLayer}
     */
    public CensusRead(List<Detector> detectors, long seed, int maxPerLayer, int maxTotal) {
        if (maxPerLayer < 1 || maxTotal < maxPerLayer) {
            throw new IllegalArgumentException("need 1 <= maxPerLayer <= maxTotal, got " + maxPerLayer + " and "
                    + maxTotal);
        }
        this.maxTotal = maxTotal;
        this.detectors = List.copyOf(detectors);
        this.order = new OrderRead(seed);
        this.seed = seed;
        this.maxPerLayer = maxPerLayer;
    }

    /**
     * The sample of each layer's candidates.
     *
     * @param candidates every candidate, in the detectors' order
     * @param samples where each layer's sample size goes, in layer order of first appearance
     * @param step the snapshot's step (where the layers taken under the total cap start)
     * @return the candidates to read, in the detectors' order
     */
    List<Candidate> sample(List<Candidate> candidates, List<OrderSample> samples, long step) {
        Map<String, List<Integer>> byLayer = new LinkedHashMap<>();
        for (int i = 0; i < candidates.size(); i++) {
            byLayer.computeIfAbsent(candidates.get(i).layer(), k -> new ArrayList<>()).add(i);
        }
        Map<String, List<Integer>> chosen = new LinkedHashMap<>();
        byLayer.forEach((layer, idx) -> {
            List<Integer> c = new ArrayList<>(idx);
            if (idx.size() > maxPerLayer) {
                java.util.Collections.shuffle(c, new Random(seed * 31 + layer.hashCode()));
                c = c.subList(0, maxPerLayer);
            }
            chosen.put(layer, c);
        });
        List<String> layers = new ArrayList<>(chosen.keySet());
        java.util.Collections.shuffle(layers, new Random(seed));
        int start = layers.isEmpty() ? 0 : (int) Math.floorMod(step * 0x9E3779B97F4A7C15L, (long) layers.size());
        java.util.Set<String> taken = new java.util.HashSet<>();
        int total = 0;
        for (int k = 0; k < layers.size(); k++) {
            String layer = layers.get((start + k) % layers.size());
            int n = chosen.get(layer).size();
            if (total + n <= maxTotal) {
                taken.add(layer);
                total += n;
            }
        }
        boolean[] keep = new boolean[candidates.size()];
        byLayer.forEach((layer, idx) -> {
            boolean read = taken.contains(layer);
            if (read) {
                chosen.get(layer).forEach(i -> keep[i] = true);
            }
            samples.add(new OrderSample(layer, idx.size(), read ? chosen.get(layer).size() : 0));
        });
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < keep.length; i++) {
            if (keep[i]) {
                out.add(candidates.get(i));
            }
        }
        return out;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Applies when the schedule says the order read is due. */
    @Override
    public boolean appliesTo(ReadContext ctx) {
        return ctx.due(NAME);
    }

    @Override
    public void read(ReadContext ctx) {
        DetectorContext detectorContext = new DetectorContext(ctx.probe());
        List<Candidate> found = new ArrayList<>();
        for (Detector d : detectors) {
            found.addAll(d.detect(detectorContext));
        }
        List<OrderSample> samples = new ArrayList<>();
        List<Candidate> candidates = sample(found, samples, ctx.step());
        OrderRead.Batch batch = order.batch(); // candidates on the same tensors share a reference
        List<OrderResult> orders = new ArrayList<>();
        for (int i = 0; i < candidates.size(); i++) {
            long c0 = System.nanoTime();
            orders.add(batch.read(ctx.probe(), candidates.get(i)));
            if (i == 0 && candidates.size() > 1 && !ctx.fits((System.nanoTime() - c0) * (candidates.size() - 1))) {
                ctx.abandon(NAME);
                return;
            }
        }
        Map<String, List<OrderResult>> byLayer = new LinkedHashMap<>();
        for (OrderResult r : orders) {
            byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(r);
        }
        samples.forEach(ctx::add);
        orders.forEach(ctx::add);
        byLayer.forEach((layer, rs) -> ctx.add(Census.of(layer, rs, OptionalInt.empty())));
    }
}
