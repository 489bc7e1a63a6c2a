package dev.deadwatch.order;

import ai.djl.nn.Parameter;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A path made when first used: a detector proposes many candidates whose paths are whole-tensor
 * arrays (a Linear's weight and its producer's), and the order read reads a sample of them, so
 * the arrays of a candidate left out are never made. The path is the one {@code make} returns.
 */
public final class LazyPath implements ParameterPath {

    private final List<Parameter> parameters;
    private final Supplier<? extends ParameterPath> make;
    private ParameterPath path;

    /**
     * @param parameters the tensors the path touches, as the made path's
     * @param make makes the path (called at most once)
     */
    public LazyPath(List<Parameter> parameters, Supplier<? extends ParameterPath> make) {
        this.parameters = List.copyOf(parameters);
        this.make = Objects.requireNonNull(make, "make");
    }

    /** @return whether the path has been made */
    public synchronized boolean made() {
        return path != null;
    }

    private synchronized ParameterPath path() {
        if (path == null) {
            path = make.get();
            if (!path.parameters().equals(parameters)) {
                throw new IllegalStateException("the made path touches other tensors than declared");
            }
        }
        return path;
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
    }

    @Override
    public List<double[]> at(double t) {
        return path().at(t);
    }

    @Override
    public List<double[]> base() {
        return path().base();
    }
}
