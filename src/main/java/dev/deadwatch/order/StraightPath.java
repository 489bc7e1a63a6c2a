package dev.deadwatch.order;

import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.List;

/** A straight path {@code w° + t v} with {@code v} normalised to unit length jointly. */
public final class StraightPath implements ParameterPath {

    private final List<Parameter> parameters;
    private final List<double[]> base;
    private final List<double[]> direction;

    /**
     * @param parameters touched tensors
     * @param base base values, one array per tensor
     * @param direction direction, one array per tensor; normalised here
     * @throws IllegalArgumentException on mismatched sizes or a zero/non-finite direction
     */
    public StraightPath(List<Parameter> parameters, List<double[]> base, List<double[]> direction) {
        if (parameters.size() != base.size() || parameters.size() != direction.size()) {
            throw new IllegalArgumentException("parameters, base and direction sizes differ: "
                    + parameters.size() + ", " + base.size() + ", " + direction.size());
        }
        double norm = 0;
        for (int i = 0; i < base.size(); i++) {
            if (base.get(i).length != direction.get(i).length) {
                throw new IllegalArgumentException("base and direction of tensor " + i
                        + " differ in length: " + base.get(i).length + " vs " + direction.get(i).length);
            }
            for (double v : direction.get(i)) {
                norm += v * v;
            }
        }
        if (!(norm > 0) || !Double.isFinite(norm)) {
            throw new IllegalArgumentException("direction norm must be positive and finite, got "
                    + Math.sqrt(norm));
        }
        norm = Math.sqrt(norm);
        this.parameters = List.copyOf(parameters);
        this.base = new ArrayList<>();
        this.direction = new ArrayList<>();
        for (int i = 0; i < base.size(); i++) {
            this.base.add(base.get(i).clone());
            double[] d = direction.get(i).clone();
            for (int k = 0; k < d.length; k++) {
                d[k] /= norm;
            }
            this.direction.add(d);
        }
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
    }

    @Override
    public List<double[]> at(double t) {
        List<double[]> out = new ArrayList<>(base.size());
        for (int i = 0; i < base.size(); i++) {
            double[] b = base.get(i);
            double[] d = direction.get(i);
            double[] v = new double[b.length];
            for (int k = 0; k < v.length; k++) {
                v[k] = b[k] + t * d[k];
            }
            out.add(v);
        }
        return out;
    }

    /** @return a copy of the unit direction */
    public List<double[]> direction() {
        List<double[]> out = new ArrayList<>();
        for (double[] d : direction) {
            out.add(d.clone());
        }
        return out;
    }
}
