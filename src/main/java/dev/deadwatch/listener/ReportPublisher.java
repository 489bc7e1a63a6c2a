package dev.deadwatch.listener;

import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerFailure;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.reads.LogDetTrend;
import dev.deadwatch.reads.Side;
import dev.deadwatch.regime.RegimeChange;
import dev.deadwatch.regime.RegimeTracker;
import dev.deadwatch.regime.Signature;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each completed read into what the world sees: the temporal slope of every
 * {@code log det⁺}, each layer's signature and its confirmed regime changes, the exported
 * metrics, one timeline row, and the user's callbacks. Reports arrive from the training thread or
 * the read worker; {@link #publish} is synchronized.
 */
final class ReportPublisher {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);

    private final DeadwatchMetrics metrics;
    private final RegimeTracker regimes;
    private final int trendWindow;
    private final Consumer<RegimeChange> onRegimeChange;
    private final Consumer<ReadReport> onReport;
    private final OnceLog log;
    private final Map<String, LogDetTrend> trends = new HashMap<>();
    /** Layer → dead orders of the newest complete order read (kept between order reads). */
    private final Map<String, Set<Integer>> lastOrders = new HashMap<>();
    /**
     * Layer → deaths the newest complete order read confirmed in that layer (kept likewise): dead
     * candidates whose detector predicted them there (a node death in its own Linear, a rank
     * deficit in the layer that produces it). An alignment-free bottom-subspace candidate reads a
     * direction already dead in the layer's input, from the consuming layer's weights: counting it
     * there would count that death twice.
     */
    private final Map<String, Integer> censusDead = new HashMap<>();
    /** The newest {@code timelineSize} rows, oldest first. */
    private final ArrayDeque<TimelineRow> timeline = new ArrayDeque<>();
    private final int timelineSize;

    /**
     * @param metrics where the reads are exported
     * @param settings persist, trend window and callbacks
     * @param log logs a failing callback once
     */
    ReportPublisher(DeadwatchMetrics metrics, MonitorSettings settings, OnceLog log) {
        this.metrics = metrics;
        this.regimes = new RegimeTracker(settings.persist());
        this.trendWindow = settings.trendWindow();
        this.onRegimeChange = settings.onRegimeChange();
        this.onReport = settings.onReport();
        this.timelineSize = settings.timelineSize();
        this.log = log;
    }

    /** @return the newest completed reads (at most {@code timelineSize}), in step order */
    synchronized List<TimelineRow> timeline() {
        return List.copyOf(timeline);
    }

    /** @return the regime number of a layer */
    synchronized int regime(String layer) {
        return regimes.regime(layer);
    }

    /**
     * Publishes one read.
     *
     * @param report the reads of one snapshot
     * @param scores train loss, train accuracy, validation loss, validation accuracy when it was taken
     */
    synchronized void publish(ReadReport report, double[] scores) {
        for (LayerFailure f : report.failures()) {
            log.warn("the " + f.read() + " read of layer " + f.layer() + " (layer skipped, the rest of the snapshot read)",
                    new IllegalStateException(f.cause()));
        }
        if (report.orderRead()) {
            // a layer the order read's sample left for another time keeps what its last read found,
            // so that a rotating sample never reads as orders lost and found again
            Set<String> unread = new HashSet<>();
            report.orderSamples().forEach(o -> {
                if (o.read() == 0) {
                    unread.add(o.layer());
                }
            });
            lastOrders.keySet().retainAll(unread);
            censusDead.keySet().retainAll(unread);
            for (OrderResult r : report.orders()) {
                Set<Integer> s = lastOrders.computeIfAbsent(r.layer(), k -> new TreeSet<>());
                if (r.isDead()) {
                    s.add(r.order());
                }
            }
            for (OrderResult r : report.orders()) {
                if (r.isDead() && r.predicted().order() > 0) {
                    censusDead.merge(r.layer(), 1, Integer::sum);
                }
            }
        }
        Map<String, Double> slopes = new HashMap<>();
        Map<String, Integer> dead = new LinkedHashMap<>();
        Map<String, Integer> headline = new HashMap<>();
        Map<String, Integer> structural = new LinkedHashMap<>();
        Map<String, Integer> unresolved = new LinkedHashMap<>();
        for (DdsResult r : report.dds()) {
            String key = r.layer() + "|" + r.side().label();
            slopes.put(key, trends.computeIfAbsent(key, k -> new LogDetTrend(trendWindow))
                    .add(report.step(), r.logDetActive()));
            if (r.side() == Side.ACTIVATION && r.deadCount() >= 0) {
                // a death the spectrum cannot see still counts once, from the census
                int d = Math.max(r.deadCount(), censusDead.getOrDefault(r.layer(), 0));
                dead.put(r.layer(), d);
                headline.put(key, d);
                structural.put(r.layer(), r.structure().total());
                unresolved.put(r.layer(), r.unresolved());
            }
        }
        Map<String, String> orders = new LinkedHashMap<>();
        if (report.orderRead()) {
            Map<String, List<String>> byLayer = new LinkedHashMap<>();
            for (OrderResult r : report.orders()) {
                if (r.isDead()) {
                    byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(Integer.toString(r.order()));
                }
            }
            byLayer.forEach((l, ks) -> orders.put(l, String.join(",", ks)));
        }
        Map<String, Boolean> kernel = new HashMap<>();
        for (LayerNormResult r : report.layerNorms()) {
            kernel.put(r.layer(), r.kernel());
        }
        metrics.publish(report, slopes, headline);
        int changes = 0;
        for (Map.Entry<String, Integer> e : dead.entrySet()) {
            String layer = e.getKey();
            Signature sig = new Signature(e.getValue(), new TreeSet<>(lastOrders.getOrDefault(layer, Set.of())),
                    kernel.getOrDefault(layer, false));
            Optional<RegimeChange> change = regimes.observe(layer, report.step(), sig);
            if (change.isPresent()) {
                changes++;
                regimeChanged(change.get());
            }
        }
        if (timeline.size() == timelineSize) {
            timeline.removeFirst(); // bounded: a long run keeps its newest rows
        }
        timeline.addLast(new TimelineRow(report.step(), scores[0], scores[1], scores[2], scores[3], dead, structural,
                unresolved, orders, changes));
        if (onReport != null) {
            onReport.accept(report);
        }
    }

    private void regimeChanged(RegimeChange c) {
        LOG.info(c.describe());
        metrics.regimeChange(c);
        if (onRegimeChange != null) {
            try {
                onRegimeChange.accept(c);
            } catch (RuntimeException e) {
                log.warn("callback", e);
            }
        }
    }
}
