package dev.deadwatch.capture;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import ai.djl.ndarray.NDList;
import java.lang.instrument.Instrumentation;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.dynamic.ClassFileLocator;

/**
 * Installs advice on {@code ai.djl.nn.AbstractBaseBlock.forward(ParameterStore, NDList, boolean,
 * PairList)} — the {@code public final} entry every DJL block goes through, including custom
 * {@code AbstractBlock} subclasses and nested blocks — and routes each call to the
 * {@link TapSession} open on the calling thread, if any.
 *
 * <p>Installation retransforms one DJL class once per JVM. Without an open session the advice
 * costs one thread-local read per block call and changes nothing.
 */
public final class ForwardTaps {

    private static final ThreadLocal<TapSession> ACTIVE = new ThreadLocal<>();
    private static volatile boolean installed;

    private ForwardTaps() {}

    /**
     * Installs the advice through a self-attached agent (library use). Idempotent.
     *
     * @throws IllegalStateException if the JVM does not allow attaching an agent
     */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        Instrumentation inst;
        try {
            inst = ByteBuddyAgent.install();
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "deadwatch could not attach its forward taps (needs a JDK with jdk.attach, or"
                            + " run with -javaagent:deadwatch-agent.jar)", e);
        }
        install(inst);
    }

    /**
     * Installs the advice through an instrumentation the caller already has (the javaagent).
     * Idempotent.
     *
     * @param inst the JVM's instrumentation
     */
    public static synchronized void install(Instrumentation inst) {
        if (installed) {
            return;
        }
        new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .ignore(net.bytebuddy.matcher.ElementMatchers.none())
                .type(named("ai.djl.nn.AbstractBaseBlock"))
                .transform(
                        (builder, type, loader, module, domain) ->
                                builder.visit(
                                        Advice.to(
                                                        ForwardAdvice.class,
                                                        ClassFileLocator.ForClassLoader.of(
                                                                ForwardTaps.class.getClassLoader()))
                                                .on(
                                                        named("forward")
                                                                .and(isPublic())
                                                                .and(takesArguments(4))
                                                                .and(takesArgument(2, boolean.class)))))
                .installOn(inst);
        installed = true;
    }

    /** @return whether the advice is in place */
    public static boolean isInstalled() {
        return installed;
    }

    static void open(TapSession session) {
        if (ACTIVE.get() != null) {
            throw new IllegalStateException("a tap session is already open on this thread");
        }
        ACTIVE.set(session);
    }

    static void close(TapSession session) {
        if (ACTIVE.get() == session) {
            ACTIVE.remove();
        }
    }

    /**
     * Called by the advice after every block forward. Public only because advice is inlined
     * into DJL's class; not an API.
     *
     * @param block the block ({@code this} of the advised method)
     * @param inputs the forward inputs
     * @param output the forward output
     * @return the output to return (unchanged unless the session adds a gradient probe)
     */
    public static NDList onForward(Object block, NDList inputs, NDList output) {
        TapSession session = ACTIVE.get();
        if (session == null) {
            return output;
        }
        return session.record(block, inputs, output);
    }

    /** The inlined advice. Thin: it only calls {@link #onForward}. */
    public static final class ForwardAdvice {
        private ForwardAdvice() {}

        /**
         * @param block the advised block
         * @param inputs its inputs
         * @param output its output, possibly replaced
         */
        @Advice.OnMethodExit(suppress = Throwable.class)
        public static void exit(
                @Advice.This Object block,
                @Advice.Argument(1) NDList inputs,
                @Advice.Return(readOnly = false) NDList output) {
            output = ForwardTaps.onForward(block, inputs, output);
        }
    }
}
