package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The worker's engine settings are per thread: they must not leak into the training thread. */
class GradModeTest {

    @Test
    void theWorkerThreadsSettingsStayOnTheWorker() throws Exception {
        Engine.getInstance(); // loads the native library
        int trainingThreads = JniUtils.getNumThreads();
        boolean trainingGrad = JniUtils.isGradMode();
        assumeTrue(trainingThreads > 1, "needs a machine with more than one intra-op thread");
        AtomicInteger workerThreads = new AtomicInteger();
        AtomicBoolean workerGrad = new AtomicBoolean(true);
        Thread worker = new Thread(() -> {
            GradMode.disableOnThisThread();
            workerThreads.set(GradMode.singleThreadedOnThisThread());
            workerGrad.set(JniUtils.isGradMode());
        });
        worker.start();
        worker.join();
        assertThat(workerThreads.get()).as("worker intra-op threads").isEqualTo(1);
        assertThat(workerGrad.get()).as("worker grad mode").isFalse();
        assertThat(JniUtils.getNumThreads()).as("training thread's intra-op threads").isEqualTo(trainingThreads);
        assertThat(JniUtils.isGradMode()).as("training thread's grad mode").isEqualTo(trainingGrad);
    }
}
