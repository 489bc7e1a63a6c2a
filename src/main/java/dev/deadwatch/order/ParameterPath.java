package dev.deadwatch.order;

import ai.djl.nn.Parameter;
import java.util.List;

/**
 * A path {@code p(t)} in parameter space through a base point {@code p(0) = w°}, touching a
 * fixed list of parameter tensors. Values are float64; they are rounded to the tensor's own
 * precision when written.
 */
public interface ParameterPath {

    /** @return the tensors the path touches (whole tensors: untouched entries keep base values) */
    List<Parameter> parameters();

    /**
     * @param t path parameter
     * @return one value array per touched tensor, same order as {@link #parameters()}
     */
    List<double[]> at(double t);

    /** @return the base point {@code w°}, i.e. {@code at(0)} */
    default List<double[]> base() {
        return at(0.0);
    }
}
