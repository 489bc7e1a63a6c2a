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
            addListener(t, monitor);
            MONITORS.add(monitor);
            monitor.onTrainingBegin(t);
            System.err.println("deadwatch agent: monitoring trainer of model '" + t.getModel().getName()
                    + "' (run " + monitor.runId() + ", metrics on " + a.host() + ":" + monitor.port() + ")");
        } catch (Throwable e) {
            disable(e);
        }
    }

    /**
     * The one place the agent reaches into DJL's internals: gives a built trainer its own listener
     * list with {@code listener} added, by writing DJL's private {@code Trainer.listeners} (DJL has
     * no public way to add a listener to a built trainer; the config's list may be shared by other
     * trainers, so it is copied, not changed). {@code AgentHookTest} fails loudly when a DJL upgrade
     * renames or retypes the field.
     *
     * @param t the trainer
     * @param listener the listener to add
     * @throws ReflectiveOperationException when the field is not there any more
     */
    static void addListener(Trainer t, TrainingListener listener) throws ReflectiveOperationException {
        Field f = listenersField();
        @SuppressWarnings("unchecked")
        List<TrainingListener> current = (List<TrainingListener>) f.get(t);
        List<TrainingListener> mine = new ArrayList<>(current);
        mine.add(listener);
        f.set(t, mine);
    }

    /**
     * @return DJL's private {@code Trainer.listeners}, accessible
     * @throws NoSuchFieldException when DJL renamed it or it is no longer a {@code List}
     */
    static Field listenersField() throws NoSuchFieldException {
        Field f = Trainer.class.getDeclaredField("listeners");
        if (!List.class.isAssignableFrom(f.getType())) {
            throw new NoSuchFieldException("DJL's Trainer.listeners is a " + f.getType().getName()
                    + ", not a List: the agent cannot add its listener to this DJL version");
        }
        f.setAccessible(true);
        return f;
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
