package dev.deadwatch.capture;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.function.Function;
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
        return threadsOnThisThread(1);
    }

    /** @return the calling thread's engine (PyTorch intra-op) thread count, -1 on other engines */
    public static int threadsOfThisThread() {
        return PYTORCH ? JniUtils.getNumThreads() : -1;
    }

    /**
     * Sets the calling thread's engine (PyTorch intra-op) thread count.
     *
     * @param threads at least 1
     * @return the thread count the calling thread now uses, -1 on engines other than PyTorch
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static int threadsOnThisThread(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("engine threads must be >= 1, got " + threads);
        }
        if (!PYTORCH) {
            return -1;
        }
        JniUtils.setNumThreads(threads);
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

    /**
     * Runs a forward and backward pass with autograd on, on the calling thread only.
     *
     * <p>DJL's {@link GradientCollector} for PyTorch is process-wide: a second one open at the
     * same time throws, so a read that opened one on the analysis worker while the trainer had its
     * own open would fail a training step. On PyTorch this instead switches autograd on for the
     * calling thread alone (PyTorch keeps grad mode per thread) and runs backward passes directly,
     * so it is safe on any thread, whatever the trainer is doing. On other engines it falls back to
     * a {@link GradientCollector}, safe only where no other collector is open (the training thread
     * between steps).
     *
     * @param body runs the forward pass and calls the given backward on its scalar target
     * @param <T> the body's result
     * @return the body's result
     */
    public static <T> T withGradient(Function<Backward, T> body) {
        if (!PYTORCH) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                return body.apply(gc::backward);
            }
        }
        boolean was = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            return body.apply(target -> {
                try (NDArray ones = target.onesLike()) {
                    JniUtils.backward((PtNDArray) target, (PtNDArray) ones, false, false);
                }
            });
        } finally {
            JniUtils.setGradMode(was);
        }
    }

    /**
     * Runs {@code action} with the given arrays (parameters carrying a gradient) not requiring
     * one, so that a backward pass inside computes no gradient for them and leaves the gradients
     * they carry untouched; their flag is set back afterwards, also on error. PyTorch only: on
     * other engines nothing is done and this returns {@code false} before running anything.
     *
     * @param arrays arrays that require a gradient
     * @param action what to run
     * @return whether the arrays were frozen and {@code action} ran
     */
    public static boolean withFrozen(java.util.List<NDArray> arrays, Runnable action) {
        if (!PYTORCH) {
            return false;
        }
        int frozen = 0;
        try {
            for (NDArray a : arrays) {
                a.setRequiresGradient(false); // PyTorch's requires_grad_(false): its .grad stays
                frozen++;
            }
            action.run();
            return true;
        } finally {
            for (int i = 0; i < frozen; i++) {
                arrays.get(i).setRequiresGradient(true);
            }
        }
    }

    /** A backward pass from a scalar target, accumulating into the gradients of its leaves. */
    @FunctionalInterface
    public interface Backward {
        /** @param target the scalar to differentiate */
        void backward(NDArray target);
    }
}
