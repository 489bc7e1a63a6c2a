package dev.deadwatch.census;

import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.Read;
import dev.deadwatch.reads.ReadContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The order read of a snapshot (docs/method.md §3–§4): every detector's candidates, each read
 * by {@link OrderRead} (one {@link OrderResult} per candidate), then one {@link Census} per layer.
 *
 * <p>Budget: after the first candidate the cost of the rest is estimated (first candidate's
 * time × candidates left) and offered to {@link ReadContext#fits}; when refused, the read stops
 * and adds nothing (a partial census would undercount), and is marked
 * {@linkplain ReadContext#abandon abandoned}.
 */
public final class CensusRead implements Read {

    /** The name of this read, {@code order}. */
    public static final String NAME = "order";

    private final OrderRead order;
    private final List<Detector> detectors;

    /**
     * @param detectors detectors supplying the candidates
     * @param seed seed of the order read's reference directions
     */
    public CensusRead(List<Detector> detectors, long seed) {
        this.detectors = List.copyOf(detectors);
        this.order = new OrderRead(seed);
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
        List<Candidate> candidates = new ArrayList<>();
        for (Detector d : detectors) {
            candidates.addAll(d.detect(detectorContext));
        }
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
        orders.forEach(ctx::add);
        byLayer.forEach((layer, rs) -> ctx.add(Census.of(layer, rs, OptionalInt.empty())));
    }
}
