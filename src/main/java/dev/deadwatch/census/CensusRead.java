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
import java.util.function.LongSupplier;

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
 *
 * <p>Time: the read takes at most {@code seconds} (default {@link #DEFAULT_SECONDS}), detectors
 * included, give or take one candidate's misestimate: the layers of the sample are read in the
 * rotation's order, and a layer whose candidates would not finish in time at the slowest pace so
 * far is left, with the layers after it, for a later order read (its {@link OrderSample} says 0
 * read, as for a layer the total cap left out). On a model whose candidates are fast (every
 * known-answer case) the limit is never reached and the read is what it was without one.
 */
public final class CensusRead implements Read {

    /** The name of this read, {@code order}. */
    public static final String NAME = "order";

    /** Candidates read per layer by default: bounds the order read of a wide model (issue 14). */
    public static final int DEFAULT_MAX_PER_LAYER = 2;
    /** Candidates read per order read by default. */
    public static final int DEFAULT_MAX_TOTAL = 8;
    /**
     * Seconds an order read may take by default, its detectors included: no layer is started
     * whose candidates would not finish within them at the slowest candidate's pace so far.
     */
    public static final double DEFAULT_SECONDS = 30;

    private final OrderRead order;
    private final List<Detector> detectors;
    private final long seed;
    private final int maxPerLayer;
    private final int maxTotal;
    private final long limitNanos;
    private final LongSupplier clock;

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
        this(detectors, seed, maxPerLayer, maxTotal, DEFAULT_SECONDS);
    }

    /**
     * @param detectors detectors supplying the candidates
     * @param seed seed of the order read's reference directions and of the sample
     * @param maxPerLayer candidates read per layer at most, at least 1
     * @param maxTotal candidates read in all at most, at least {@code maxPerLayer}
     * @param seconds time the read may take, detectors included, positive
     *     ({@link Double#POSITIVE_INFINITY}: no limit)
     */
    public CensusRead(List<Detector> detectors, long seed, int maxPerLayer, int maxTotal, double seconds) {
        this(detectors, seed, maxPerLayer, maxTotal, seconds, System::nanoTime);
    }

    CensusRead(List<Detector> detectors, long seed, int maxPerLayer, int maxTotal, double seconds, LongSupplier clock) {
        if (maxPerLayer < 1 || maxTotal < maxPerLayer) {
            throw new IllegalArgumentException("need 1 <= maxPerLayer <= maxTotal, got " + maxPerLayer + " and "
                    + maxTotal);
        }
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("seconds must be > 0, got " + seconds);
        }
        this.maxTotal = maxTotal;
        this.detectors = List.copyOf(detectors);
        this.order = new OrderRead(seed);
        this.seed = seed;
        this.maxPerLayer = maxPerLayer;
        this.limitNanos = seconds >= Long.MAX_VALUE / 1e9 ? Long.MAX_VALUE : (long) (seconds * 1e9);
        this.clock = clock;
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
        Plan plan = plan(candidates, step);
        samples.addAll(plan.samples(plan.layers()));
        return plan.chosen();
    }

    /**
     * What an order read reads: the chosen candidates in the detectors' order, the layers they are
     * in, in the order they are read (the rotation's), and every layer's count.
     */
    private record Plan(List<Candidate> chosen, List<String> layers, Map<String, Integer> found) {
        /** @return every layer's sample, in order of first appearance, counting only {@code read} layers as read */
        List<OrderSample> samples(java.util.Collection<String> read) {
            List<OrderSample> out = new ArrayList<>();
            Map<String, Integer> chosenBy = new LinkedHashMap<>();
            chosen.forEach(c -> chosenBy.merge(c.layer(), 1, Integer::sum));
            found.forEach((layer, n) -> out.add(new OrderSample(layer, n,
                    read.contains(layer) ? chosenBy.getOrDefault(layer, 0) : 0)));
            return out;
        }
    }

    private Plan plan(List<Candidate> candidates, long step) {
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
        List<String> taken = new ArrayList<>();
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
        Map<String, Integer> found = new LinkedHashMap<>();
        byLayer.forEach((layer, idx) -> {
            if (taken.contains(layer)) {
                chosen.get(layer).forEach(i -> keep[i] = true);
            }
            found.put(layer, idx.size());
        });
        List<Candidate> out = new ArrayList<>();
        for (int i = 0; i < keep.length; i++) {
            if (keep[i]) {
                out.add(candidates.get(i));
            }
        }
        return new Plan(out, taken, found);
    }

    @Override
    public String name() {
        return NAME;
    }

    /** @return the time an order read may take, seconds (infinite: no limit) */
    public double seconds() {
        return limitNanos == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : limitNanos / 1e9;
    }

    /** Applies when the schedule says the order read is due. */
    @Override
    public boolean appliesTo(ReadContext ctx) {
        return ctx.due(NAME);
    }

    /**
     * Reads the sample layer by layer, in the rotation's order. Before each layer the time limit
     * is checked: a layer is not started when the time so far and its candidates at the slowest
     * candidate's pace so far would pass it; it and the layers after are then not read this time
     * ({@link OrderSample#read()} 0), as a layer the total cap left out. The budget check after the
     * first candidate is as before. Candidates on the same tensors share their reference whatever
     * the order they are read in, so the results are those of reading the sample in full.
     */
    @Override
    public void read(ReadContext ctx) {
        long t0 = clock.getAsLong();
        DetectorContext detectorContext = new DetectorContext(ctx.probe());
        List<Candidate> found = new ArrayList<>();
        for (Detector d : detectors) {
            found.addAll(d.detect(detectorContext));
        }
        Plan plan = plan(found, ctx.step());
        List<Candidate> candidates = plan.chosen();
        OrderRead.Batch batch = order.batch(); // candidates on the same tensors share a reference
        Map<Candidate, OrderResult> read = new java.util.IdentityHashMap<>();
        List<String> complete = new ArrayList<>();
        long slowest = 0;
        for (String layer : plan.layers()) {
            List<Candidate> of = candidates.stream().filter(c -> c.layer().equals(layer)).toList();
            if (clock.getAsLong() - t0 + (double) slowest * of.size() > limitNanos) {
                break; // this layer and the ones after wait for another order read
            }
            for (Candidate c : of) {
                long c0 = clock.getAsLong();
                read.put(c, batch.read(ctx.probe(), c));
                long took = clock.getAsLong() - c0;
                slowest = Math.max(slowest, took);
                if (read.size() == 1 && candidates.size() > 1 && !ctx.fits(took * (candidates.size() - 1))) {
                    ctx.abandon(NAME);
                    return;
                }
            }
            complete.add(layer);
        }
        List<OrderResult> orders = new ArrayList<>();
        for (Candidate c : candidates) { // the detectors' order
            if (read.containsKey(c)) {
                orders.add(read.get(c));
            }
        }
        Map<String, List<OrderResult>> byLayer = new LinkedHashMap<>();
        for (OrderResult r : orders) {
            byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(r);
        }
        plan.samples(complete).forEach(ctx::add);
        orders.forEach(ctx::add);
        byLayer.forEach((layer, rs) -> ctx.add(Census.of(layer, rs, OptionalInt.empty())));
    }
}
