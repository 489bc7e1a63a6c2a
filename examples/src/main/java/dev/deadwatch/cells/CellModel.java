package dev.deadwatch.cells;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;

/**
 * One cell of docs/method.md §6 built by {@link CellContext#model}: its block
 * (or float64 replica) on its probe batch, and the manager that owns them. Closing it frees all.
 */
final class CellModel implements AutoCloseable {
    final NDManager manager;
    final ProbeBatch batch;
    final Replica replica;
    final ModelProbe probe;

    CellModel(NDManager manager, ProbeBatch batch, Replica replica, ModelProbe probe) {
        this.manager = manager;
        this.batch = batch;
        this.replica = replica;
        this.probe = probe;
    }

    Parameter param(String name) {
        return ParameterState.parameter(probe.block(), name);
    }

    Parameter childParam(int child, String name) {
        return ParameterState.parameter(
                dev.deadwatch.capture.BlockPaths.children(probe.block()).get(child), name);
    }

    @Override
    public void close() {
        probe.close();
        if (replica != null) {
            replica.close();
        }
        batch.close();
        manager.close();
    }
}
