package dev.deadwatch.agent;

import dev.deadwatch.listener.DeadwatchListenerBuilder;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import dev.deadwatch.listener.DeadwatchListener;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the advice calls when a {@code Trainer} has been constructed: builds a monitor for it
 * and adds it to that trainer only. Never throws (a failure disables the agent and leaves
 * training as it was).
 */
public final class AgentHook {

    private static volatile AgentArgs args;
    private static volatile boolean disabled;
    private static final List<DeadwatchListener> MONITORS = new CopyOnWriteArrayList<>();

    private AgentHook() {}

    static void configure(AgentArgs a) {
        args = a;
        if (a.dump() != null) {
            Runtime.getRuntime().addShutdownHook(new Thread(AgentHook::dump, "deadwatch-dump"));
        }
    }

    /**
     * Attaches a monitor to a freshly constructed trainer. Called from advice.
     *
     * @param trainer the trainer
     */
    public static void attach(Object trainer) {
        if (disabled || args == null || !(trainer instanceof Trainer t)) {
            return;
        }
        try {
            AgentArgs a = args;
            DeadwatchListenerBuilder b = DeadwatchListener.builder()
                    .optInterval(a.every())
                    .optOrderEvery(a.order())
                    .optBudget(a.budget())
                    .optFisher(a.fisher())
                    .optPrometheusEndpoint(a.host(), MONITORS.isEmpty() ? a.port() : 0);
            if (a.probe() > 0) {
                b.optProbeSize(a.probe());
            }
            if (a.run() != null) {
                b.optRunId(MONITORS.isEmpty() ? a.run() : a.run() + "-" + MONITORS.size());
            }
            if (a.out() != null) {
                b.optOutputDirectory(a.out().resolve("trainer-" + MONITORS.size()));
            }
            DeadwatchListener monitor = b.build();
            // give this trainer its own listener list: the config's list may be shared by others
            Field f = Trainer.class.getDeclaredField("listeners");
            f.setAccessible(true);
            @SuppressWarnings("unchecked")
            List<TrainingListener> current = (List<TrainingListener>) f.get(t);
            List<TrainingListener> mine = new ArrayList<>(current);
            mine.add(monitor);
            f.set(t, mine);
            MONITORS.add(monitor);
            monitor.onTrainingBegin(t);
            System.err.println("deadwatch agent: monitoring trainer of model '" + t.getModel().getName()
                    + "' (run " + monitor.runId() + ", metrics on " + a.host() + ":" + monitor.port() + ")");
        } catch (Throwable e) {
            disable(e);
        }
    }

    static void disable(Throwable e) {
        disabled = true;
        System.err.println("deadwatch agent: disabled after an internal failure (" + e
                + "); training continues unmonitored");
    }

    private static void dump() {
        try {
            StringBuilder sb = new StringBuilder();
            for (DeadwatchListener m : MONITORS) {
                m.drain();
                if (m.prometheusRegistry() != null) {
                    sb.append(m.prometheusRegistry().scrape());
                }
            }
            Files.writeString(args.dump(), sb.toString(), StandardCharsets.UTF_8);
        } catch (Throwable e) {
            System.err.println("deadwatch agent: could not write " + args.dump() + ": " + e);
        }
    }
}
