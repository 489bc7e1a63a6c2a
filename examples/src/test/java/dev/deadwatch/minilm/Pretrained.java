package dev.deadwatch.minilm;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The checkpoint and a float32 model loaded from it, built once per test JVM (parsing the 90 MB
 * ONNX model takes seconds). The manager lives as long as the JVM.
 */
final class Pretrained {

    private static Checkpoint checkpoint;
    private static MiniLm model;
    private static NDManager manager;

    private Pretrained() {}

    static synchronized Checkpoint checkpoint() {
        if (checkpoint == null) {
            try {
                checkpoint = Checkpoint.allMiniLmL6V2();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return checkpoint;
    }

    /** @return all-MiniLM-L6-v2 in float32, weights loaded (do not change it) */
    static synchronized MiniLm model() {
        if (model == null) {
            manager = NDManager.newBaseManager();
            MiniLm m = MiniLm.allMiniLmL6V2();
            m.initialize(manager, DataType.FLOAT32, new Shape(1, 16));
            checkpoint().loadInto(m);
            model = m;
        }
        return model;
    }

    static synchronized NDManager manager() {
        model();
        return manager;
    }
}
