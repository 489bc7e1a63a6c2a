package dev.deadwatch.capture;

import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import java.lang.instrument.Instrumentation;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.Map;
import java.util.WeakHashMap;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.dynamic.ClassFileLocator;

/**
 * Installs advice on {@code ai.djl.nn.AbstractBaseBlock.forward(ParameterStore, NDList, boolean,
 * PairList)} — the {@code public final} entry every DJL block goes through, including custom
 * {@code AbstractBlock} subclasses and nested blocks — and routes each call to the
 * {@link TapSession} open on the calling thread, if any. The same advice runs a replica's block in
 * float32 inside a float64 replica ({@link #runIn}) and names the block a failing forward was in
 * ({@link #traced}).
 *
 * <p>Installation retransforms one DJL class once per JVM. Without an open session, an adapted
 * block or a trace, the advice costs two thread-local reads and a volatile read per block call and
 * changes nothing.
 */
public final class ForwardTaps {

    private static final ThreadLocal<TapSession> ACTIVE = new ThreadLocal<>();
    private static final ThreadLocal<Deque<Object>> TRACE = new ThreadLocal<>();
    /** Blocks run in another type than their caller's: block → {inner, outer} type. */
    private static final Map<Object, DataType[]> ADAPTED = Collections.synchronizedMap(new WeakHashMap<>());
    private static volatile boolean anyAdapted;
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
        Deque<Object> stack = TRACE.get();
        if (stack != null && stack.contains(block)) {
            while (stack.pop() != block) {
                // a block that raised inside and was recovered from by its caller
            }
        }
        if (anyAdapted) {
            DataType[] types = ADAPTED.get(block);
            if (types != null) {
                output = convert(output, types[1]);
            }
        }
        TapSession session = ACTIVE.get();
        if (session == null) {
            return output;
        }
        return session.record(block, inputs, output);
    }

    /**
     * Runs {@code block} in {@code inner} wherever it is called: its floating-point inputs are
     * converted to {@code inner} on entry and its floating-point outputs to {@code outer} on exit.
     * For one block of a replica that cannot run in the replica's type (docs/method.md §0); its
     * parameters must be of type {@code inner}. The mark lives as long as the block.
     *
     * @param block the block
     * @param inner the type it runs in
     * @param outer the type its callers run in
     */
    public static void runIn(Object block, DataType inner, DataType outer) {
        ADAPTED.put(block, new DataType[] {inner, outer});
        anyAdapted = true;
    }

    /** A forward that failed, and the innermost block it was in. */
    public record Failure(Object block, RuntimeException error) {}

    /**
     * Runs a forward pass, keeping track of the blocks entered and not yet left on this thread.
     * Needs the advice installed ({@link #install()}); without it no block is named.
     *
     * @param forward the forward pass
     * @return {@code null} when it completed, else the error and the innermost block it was raised
     *     in ({@code null} block when the advice is not installed or it failed outside any block)
     */
    public static Failure traced(Runnable forward) {
        Deque<Object> stack = new ArrayDeque<>();
        TRACE.set(stack);
        try {
            forward.run();
            return null;
        } catch (RuntimeException e) {
            return new Failure(stack.peek(), e);
        } finally {
            TRACE.remove();
        }
    }

    /**
     * Called by the advice before every block forward. Public only because advice is inlined into
     * DJL's class; not an API.
     *
     * @param block the block
     * @param inputs its inputs
     * @return the inputs to use (converted for an adapted block)
     */
    public static NDList onEnter(Object block, NDList inputs) {
        Deque<Object> stack = TRACE.get();
        if (stack != null) {
            stack.push(block);
        }
        if (!anyAdapted) {
            return inputs;
        }
        DataType[] types = ADAPTED.get(block);
        return types == null ? inputs : convert(inputs, types[0]);
    }

    /**
     * Converts the floating-point arrays of a list to {@code type}, keeping them in the autograd
     * graph: a product over a new axis of length one, computed in {@code type}, is the identity
     * and differentiable, where {@code NDArray.toType} on the PyTorch engine returns an array cut
     * off from the graph (docs/findings.md), which would leave the Fisher read's backward pass
     * without gradients upstream of the block.
     */
    static NDList convert(NDList list, DataType type) {
        NDList out = new NDList(list.size());
        for (NDArray a : list) {
            out.add(a.getDataType().isFloating() && a.getDataType() != type
                    ? a.expandDims(-1).cumProd(-1, type).squeeze(-1) : a);
        }
        return out;
    }

    /** The inlined advice. Thin: it only calls {@link #onEnter} and {@link #onForward}. */
    public static final class ForwardAdvice {
        private ForwardAdvice() {}

        /**
         * @param block the advised block
         * @param inputs its inputs, possibly replaced
         */
        @Advice.OnMethodEnter(suppress = Throwable.class)
        public static void enter(
                @Advice.This Object block,
                @Advice.Argument(value = 1, readOnly = false) NDList inputs) {
            inputs = ForwardTaps.onEnter(block, inputs);
        }

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
