package dev.deadwatch.agent;

import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.deadwatch.capture.ForwardTaps;
import java.lang.instrument.Instrumentation;
import java.util.Locale;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.matcher.ElementMatchers;

/**
 * {@code java -javaagent:deadwatch-agent.jar=port=9400,every=100 -jar train.jar}. Advice on
 * {@code Trainer}'s constructor attaches a monitor, advice on its {@code close()} closes it. Catches
 * everything, never calls {@code System.exit}, and honours the kill switch
 * {@code -Ddeadwatch.enabled=false} / {@code DEADWATCH_ENABLED=false}.
 */
public final class DeadwatchAgent {

    private DeadwatchAgent() {}

    /**
     * @param args agent arguments
     * @param inst instrumentation
     */
    public static void premain(String args, Instrumentation inst) {
        start(args, inst);
    }

    /**
     * @param args agent arguments
     * @param inst instrumentation
     */
    public static void agentmain(String args, Instrumentation inst) {
        start(args, inst);
    }

    static boolean enabled() {
        String p = System.getProperty("deadwatch.enabled");
        String e = System.getenv("DEADWATCH_ENABLED");
        return !"false".equalsIgnoreCase(p == null ? "" : p.trim())
                && !"false".equalsIgnoreCase(e == null ? "" : e.trim().toLowerCase(Locale.ROOT));
    }

    private static void start(String args, Instrumentation inst) {
        try {
            if (!enabled()) {
                System.err.println("deadwatch agent: disabled by deadwatch.enabled/DEADWATCH_ENABLED");
                return;
            }
            AgentArgs parsed = AgentArgs.parse(args);
            AgentHook.configure(parsed);
            ForwardTaps.install(inst);
            ClassFileLocator locator = ClassFileLocator.ForClassLoader.of(DeadwatchAgent.class.getClassLoader());
            new AgentBuilder.Default()
                    .disableClassFormatChanges()
                    .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                    .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                    .ignore(ElementMatchers.none())
                    .type(named("ai.djl.training.Trainer"))
                    .transform((builder, type, loader, module, domain) -> builder
                            .visit(Advice.to(TrainerAdvice.class, locator)
                                    .on(ElementMatchers.isConstructor().and(takesArguments(2))))
                            .visit(Advice.to(CloseAdvice.class, locator)
                                    .on(named("close").and(takesArguments(0)))))
                    .installOn(inst);
        } catch (Throwable e) {
            AgentHook.disable(e);
        }
    }

    /** Thin advice: after a Trainer is constructed, hand it to the library. */
    public static final class TrainerAdvice {
        private TrainerAdvice() {}

        /** @param trainer the new trainer */
        @Advice.OnMethodExit(suppress = Throwable.class)
        public static void exit(@Advice.This Object trainer) {
            AgentHook.attach(trainer);
        }
    }

    /** Thin advice: after a Trainer is closed (its last {@code onTrainingEnd} done), close its monitor. */
    public static final class CloseAdvice {
        private CloseAdvice() {}

        /** @param trainer the closed trainer */
        @Advice.OnMethodExit(suppress = Throwable.class, onThrowable = Throwable.class)
        public static void exit(@Advice.This Object trainer) {
            AgentHook.detach(trainer);
        }
    }
}
