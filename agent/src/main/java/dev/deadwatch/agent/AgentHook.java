package dev.deadwatch.agent;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import dev.deadwatch.export.MetricsOutput;
import dev.deadwatch.export.MetricsServer;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What the advice calls: when a {@code Trainer} has been constructed, builds a monitor for it and
 * adds it to that trainer only; when the trainer is closed, closes its monitor. Never throws (a
 * failure disables the agent and leaves training as it was).
 *
 * <p>The JVM has one endpoint, on the configured address, opened at the first trainer and serving
 * until the JVM exits: every trainer's monitor publishes into its registry, distinguished by
 * {@code run} (the configured run, then run-1, run-2, … for later trainers) and {@code model}. A
 * closed trainer's series leave the endpoint, as a stopped container's leave a cAdvisor scrape:
 * Prometheus marks them stale and keeps what it scraped. The dump keeps every trainer's final
 * series.
 */
public final class AgentHook {

    private static volatile AgentArgs args;
    private static volatile boolean disabled;
    /** The endpoint and the registry every monitor publishes into; {@code null} until the first trainer. */
    private static MetricsOutput endpoint;
    /** Trainers seen, numbering their runs. */
    private static int trainers;
    /** The monitors of trainers not closed yet, by trainer identity. */
    private static final Map<Trainer, DeadwatchListener> LIVE = new IdentityHashMap<>();
    /** For the dump: the final series of each closed trainer. */
    private static final List<String> FINISHED = new CopyOnWriteArrayList<>();

    private AgentHook() {}

    static void configure(AgentArgs a) {
        args = a;
        MetricsServer.configureJdkLimits(); // before the program can start a JDK server of its own
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
            MetricsOutput out;
            int index;
            synchronized (AgentHook.class) {
                out = endpoint(a);
                if (out == null) {
                    return;
                }
                index = trainers++;
            }
            DeadwatchListenerBuilder b = DeadwatchListener.builder()
                    .optInterval(a.every())
                    .optOrderEvery(a.order())
                    .optBudget(a.budget())
                    .optFisher(a.fisher())
                    .optReadOnCopies(a.copies())
                    .optRegistry(out.prometheus()); // the agent's endpoint serves it; the monitor does not own it
            if (a.probe() > 0) {
                b.optProbeSize(a.probe());
            }
            if (a.run() != null) {
                b.optRunId(index == 0 ? a.run() : a.run() + "-" + index);
            }
            if (a.out() != null) {
                b.optOutputDirectory(a.out().resolve("trainer-" + index));
            }
            DeadwatchListener monitor = b.build();
            addListener(t, monitor);
            synchronized (AgentHook.class) {
                LIVE.put(t, monitor);
            }
            monitor.onTrainingBegin(t);
            System.err.println("deadwatch agent: monitoring trainer of model '" + t.getModel().getName()
                    + "' (run " + monitor.runId() + ", metrics on " + a.host() + ":" + out.port() + ")");
        } catch (Throwable e) {
            disable(e);
        }
    }

    /**
     * Closes the monitor of a trainer that is being closed (after its last {@code onTrainingEnd}):
     * stops it, frees its native memory and removes its series from the endpoint, after keeping
     * them for the dump. Called from advice.
     *
     * @param trainer the trainer
     */
    public static void detach(Object trainer) {
        DeadwatchListener monitor;
        MetricsOutput out;
        synchronized (AgentHook.class) {
            monitor = trainer instanceof Trainer t ? LIVE.remove(t) : null;
            out = endpoint;
        }
        if (monitor == null) {
            return;
        }
        try {
            monitor.drain();
            if (args.dump() != null && out != null) {
                FINISHED.add(Exposition.onlyRun(out.prometheus().scrape(), monitor.runId()));
            }
        } catch (Throwable e) {
            System.err.println("deadwatch agent: could not keep the final series of run " + monitor.runId()
                    + " for the dump (" + e + ")");
        } finally {
            monitor.close();
        }
    }

    /**
     * @return the JVM's endpoint, opened on the configured address at the first call; {@code null}
     *     when it cannot be bound, the agent then disabled with one line naming the address and why
     */
    private static MetricsOutput endpoint(AgentArgs a) {
        if (endpoint == null && !disabled) {
            try {
                endpoint = MetricsOutput.open(null, a.host(), a.port());
            } catch (IOException e) {
                disabled = true;
                System.err.println("deadwatch agent: disabled: " + e.getMessage() + "; training continues unmonitored");
            }
        }
        return endpoint;
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

    /** At JVM exit: the closed trainers' final series and the live ones, as one exposition. */
    private static void dump() {
        try {
            List<DeadwatchListener> live;
            MetricsOutput out;
            synchronized (AgentHook.class) {
                live = new ArrayList<>(LIVE.values());
                out = endpoint;
            }
            live.forEach(DeadwatchListener::drain);
            List<String> parts = new ArrayList<>(FINISHED);
            if (out != null) {
                parts.add(out.prometheus().scrape());
            }
            Files.writeString(args.dump(), Exposition.merge(parts), StandardCharsets.UTF_8);
        } catch (Throwable e) {
            System.err.println("deadwatch agent: could not write " + args.dump() + ": " + e);
        }
    }
}
