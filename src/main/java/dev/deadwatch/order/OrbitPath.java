package dev.deadwatch.order;

import ai.djl.nn.Parameter;
import java.util.List;
import java.util.function.DoubleFunction;

/** A curved path given as a function of {@code t}, for orbits of curved symmetries. */
public final class OrbitPath implements ParameterPath {

    private final List<Parameter> parameters;
    private final DoubleFunction<List<double[]>> at;

    /**
     * @param parameters touched tensors
     * @param at {@code t ↦} values of each tensor
     */
    public OrbitPath(List<Parameter> parameters, DoubleFunction<List<double[]>> at) {
        this.parameters = List.copyOf(parameters);
        this.at = at;
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
    }

    @Override
    public List<double[]> at(double t) {
        return at.apply(t);
    }
}
