package dev.deadwatch.capture;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * PyTorch's autograd switch is per thread and on by default on new threads. Reads must run
 * with it off: forward passes then build no graph, and in-place parameter writes are legal.
 */
public final class GradMode {

    private static final boolean PYTORCH = "PyTorch".equals(Engine.getInstance().getEngineName());

    private GradMode() {}

    /** Turns autograd off on the calling thread (the analysis worker calls this once). */
    public static void disableOnThisThread() {
        if (PYTORCH) {
            JniUtils.setGradMode(false);
        }
    }

    /**
     * Makes the calling thread's engine ops single-threaded. PyTorch keeps the intra-op thread
     * count per calling thread (OpenMP's thread-local settings), so the analysis worker can run
     * on one core while the training thread keeps all of them; without this, on a small machine,
     * the worker's parallel regions fight the training's for the same cores.
     *
     * @return the thread count the calling thread now uses
     */
    public static int singleThreadedOnThisThread() {
        if (!PYTORCH) {
            return -1;
        }
        JniUtils.setNumThreads(1);
        return JniUtils.getNumThreads();
    }

    /**
     * Runs an action with autograd off on this thread, restoring the previous state after.
     *
     * @param action what to run
     * @param <T> result type
     * @return the action's result
     */
    public static <T> T off(Supplier<T> action) {
        if (!PYTORCH) {
            return action.get();
        }
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return action.get();
        } finally {
            JniUtils.setGradMode(was);
        }
    }
}
