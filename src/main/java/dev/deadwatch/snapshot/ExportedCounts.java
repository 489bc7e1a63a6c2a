package dev.deadwatch.snapshot;

import dev.deadwatch.census.Census;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.Side;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Follows a run's reads in order and gives, for each, the numbers the live monitor exports
 * ({@link Exported}), by the rule of docs/metrics.md: on the activation side a layer's headline is
 * the larger of its DDS dead count and the deaths the newest complete order read confirmed in that
 * layer, and that order read is kept until the next complete one. Not thread-safe.
 */
public final class ExportedCounts {

    private long orderStep = -1;
    private Map<String, String> orders = Map.of();
    private Map<String, Integer> censusDead = Map.of();
    private Map<String, Double> lambdaDead = Map.of();

    /** Starts a run: no order read yet. */
    public ExportedCounts() {}

    /**
     * Continues from a read already made: its order read is carried until the next complete one.
     *
     * @param previous the numbers exported at an earlier read
     */
    public ExportedCounts(Exported previous) {
        this.orderStep = previous.orderStep();
        this.orders = previous.orders();
        this.censusDead = previous.censusDead();
        this.lambdaDead = previous.lambdaDead();
    }

    /**
     * @param report the next read of the run
     * @return what the live monitor exports for it
     */
    public Exported observe(ReadReport report) {
        if (report.orderRead()) {
            Map<String, List<String>> byLayer = new LinkedHashMap<>();
            Map<String, Integer> confirmed = new LinkedHashMap<>();
            for (OrderResult r : report.orders()) {
                if (r.isDead()) {
                    byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(Integer.toString(r.order()));
                    if (r.predicted().order() > 0) {
                        confirmed.merge(r.layer(), 1, Integer::sum);
                    }
                }
            }
            Map<String, String> o = new LinkedHashMap<>();
            byLayer.forEach((l, ks) -> o.put(l, String.join(",", ks)));
            Map<String, Double> lambda = new LinkedHashMap<>();
            for (Map.Entry<String, Census> c : report.census().entrySet()) {
                lambda.put(c.getKey(), c.getValue().lambdaDead());
            }
            orderStep = report.step();
            orders = o;
            censusDead = confirmed;
            lambdaDead = lambda;
        }
        Map<String, Integer> dead = new LinkedHashMap<>();
        Map<String, Integer> structural = new LinkedHashMap<>();
        Map<String, Integer> unresolved = new LinkedHashMap<>();
        for (DdsResult r : report.dds()) {
            if (r.side() == Side.ACTIVATION && r.deadCount() >= 0) {
                dead.put(r.layer(), Math.max(r.deadCount(), censusDead.getOrDefault(r.layer(), 0)));
                structural.put(r.layer(), r.structure().total());
                unresolved.put(r.layer(), r.unresolved());
            }
        }
        return new Exported(report.step(), dead, structural, unresolved, orderStep, orders, censusDead, lambdaDead);
    }
}
