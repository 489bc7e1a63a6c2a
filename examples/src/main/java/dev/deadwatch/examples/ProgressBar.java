package dev.deadwatch.examples;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.TimelineRow;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** A one-line progress bar on stderr: step, accuracy and the newest read's most-dead layer. */
public final class ProgressBar extends TrainingListenerAdapter {

    private final int total;
    private final DeadwatchListener monitor;
    private final PrintStream out;
    private int step;
    private long lastPrint;

    /**
     * @param total steps of the run
     * @param monitor the monitor whose timeline is shown
     * @param out where to draw (stderr)
     */
    public ProgressBar(int total, DeadwatchListener monitor, PrintStream out) {
        this.total = total;
        this.monitor = monitor;
        this.out = out;
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        step++;
        long now = System.nanoTime();
        if (now - lastPrint < 200_000_000L && step != total) {
            return;
        }
        lastPrint = now;
        int width = 30;
        int filled = (int) ((long) width * step / total);
        StringBuilder sb = new StringBuilder("\r[");
        sb.append("#".repeat(filled)).append(".".repeat(width - filled)).append("] ");
        sb.append(String.format(Locale.ROOT, "%6d/%d", step, total));
        List<TimelineRow> t = monitor.timeline();
        if (!t.isEmpty()) {
            TimelineRow r = t.get(t.size() - 1);
            sb.append(String.format(Locale.ROOT, "  train %.3f  val %.3f  %s",
                    r.trainAccuracy(), r.validationAccuracy(), mostDead(r.dead())));
        }
        out.print(sb);
        if (step == total) {
            out.println();
        }
        out.flush();
    }

    /**
     * The layer with the most dead directions, e.g. {@code dead 12 @03Linear} ({@code dead 0} when
     * no layer has any). Counts of different layers are not added: each is a count of its own
     * layer's directions, and a sum over layers means nothing.
     *
     * @param dead layer → headline dead count (activation side)
     * @return a short label
     */
    static String mostDead(Map<String, Integer> dead) {
        String layer = null;
        int most = 0;
        for (Map.Entry<String, Integer> e : new TreeMap<>(dead).entrySet()) {
            if (e.getValue() != null && e.getValue() > most) {
                most = e.getValue();
                layer = e.getKey();
            }
        }
        return layer == null ? "dead 0" : "dead " + most + " @" + layer;
    }
}
