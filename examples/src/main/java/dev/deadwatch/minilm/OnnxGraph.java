package dev.deadwatch.minilm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model this package needs, read straight from its protobuf wire format:
 * the graph's initializers (weights) and its nodes. About a hundred lines, and no dependency
 * (ONNX Runtime runs a model but does not hand out its initializers).
 *
 * <p>Fields read (onnx.proto): {@code ModelProto.graph = 7}; {@code GraphProto}: {@code node = 1},
 * {@code initializer = 5}, {@code input = 11}, {@code output = 12}; {@code NodeProto}:
 * {@code input = 1}, {@code output = 2}, {@code name = 3}, {@code op_type = 4},
 * {@code attribute = 5}; {@code AttributeProto}: {@code name = 1}, {@code f = 2}, {@code i = 3},
 * {@code t = 5}; {@code TensorProto}: {@code dims = 1}, {@code data_type = 2},
 * {@code float_data = 4}, {@code int64_data = 7}, {@code name = 8}, {@code raw_data = 9};
 * {@code ValueInfoProto.name = 1}. Everything else is skipped.
 */
public final class OnnxGraph {

    /** ONNX {@code TensorProto.DataType.FLOAT}. */
    public static final int FLOAT = 1;
    /** ONNX {@code TensorProto.DataType.INT64}. */
    public static final int INT64 = 7;

    /**
     * A tensor: an initializer, or the value of a {@code Constant} node or attribute.
     *
     * @param name its name
     * @param dims its shape
     * @param dataType ONNX data type ({@link #FLOAT}, {@link #INT64}, …)
     * @param floats the values when {@code dataType} is {@link #FLOAT}, else {@code null}
     * @param longs the values when {@code dataType} is {@link #INT64}, else {@code null}
     */
    public record Tensor(String name, long[] dims, int dataType, float[] floats, long[] longs) {
        /** @return the number of entries */
        public long size() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }

        @Override
        public String toString() {
            return name + Arrays.toString(dims) + "/" + dataType;
        }
    }

    /**
     * A node of the graph.
     *
     * @param name its name (may be empty)
     * @param op its operator ({@code MatMul}, {@code Add}, …)
     * @param inputs input value names
     * @param outputs output value names
     * @param floats float attributes by name
     * @param ints integer attributes by name
     * @param tensors tensor attributes by name ({@code Constant.value})
     */
    public record Node(String name, String op, List<String> inputs, List<String> outputs,
            Map<String, Float> floats, Map<String, Long> ints, Map<String, Tensor> tensors) {}

    private final Map<String, Tensor> initializers;
    private final List<Node> nodes;
    private final List<String> inputs;
    private final List<String> outputs;

    private OnnxGraph(Map<String, Tensor> initializers, List<Node> nodes, List<String> inputs, List<String> outputs) {
        this.initializers = Collections.unmodifiableMap(initializers);
        this.nodes = List.copyOf(nodes);
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
    }

    /**
     * @param in a serialized {@code ModelProto} (read to its end, not closed)
     * @return its graph
     * @throws IOException if the stream fails or is not a model
     */
    public static OnnxGraph read(InputStream in) throws IOException {
        return parse(in.readAllBytes());
    }

    /**
     * @param model a serialized {@code ModelProto}
     * @return its graph
     * @throws IOException if it is not a model
     */
    public static OnnxGraph parse(byte[] model) throws IOException {
        Wire m = new Wire(model, 0, model.length);
        while (m.more()) {
            int tag = m.tag();
            if (tag >>> 3 == 7 && (tag & 7) == 2) {
                return graph(m.sub());
            }
            m.skip(tag);
        }
        throw new IOException("no graph in the ONNX model");
    }

    /** @return initializers by name, in file order */
    public Map<String, Tensor> initializers() {
        return initializers;
    }

    /** @return the nodes, in file (topological) order */
    public List<Node> nodes() {
        return nodes;
    }

    /** @return the graph's input names */
    public List<String> inputs() {
        return inputs;
    }

    /** @return the graph's output names */
    public List<String> outputs() {
        return outputs;
    }

    private static OnnxGraph graph(Wire g) throws IOException {
        Map<String, Tensor> init = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        List<String> ins = new ArrayList<>();
        List<String> outs = new ArrayList<>();
        while (g.more()) {
            int tag = g.tag();
            switch (tag >>> 3) {
                case 1 -> nodes.add(node(g.sub()));
                case 5 -> {
                    Tensor t = tensor(g.sub());
                    init.put(t.name(), t);
                }
                case 11 -> ins.add(valueName(g.sub()));
                case 12 -> outs.add(valueName(g.sub()));
                default -> g.skip(tag);
            }
        }
        return new OnnxGraph(init, nodes, ins, outs);
    }

    private static String valueName(Wire v) throws IOException {
        String name = "";
        while (v.more()) {
            int tag = v.tag();
            if (tag >>> 3 == 1) {
                name = v.string();
            } else {
                v.skip(tag);
            }
        }
        return name;
    }

    private static Node node(Wire n) throws IOException {
        String name = "";
        String op = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        Map<String, Float> floats = new LinkedHashMap<>();
        Map<String, Long> ints = new LinkedHashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        while (n.more()) {
            int tag = n.tag();
            switch (tag >>> 3) {
                case 1 -> in.add(n.string());
                case 2 -> out.add(n.string());
                case 3 -> name = n.string();
                case 4 -> op = n.string();
                case 5 -> {
                    Wire a = n.sub();
                    String an = "";
                    Float f = null;
                    Long i = null;
                    Tensor t = null;
                    while (a.more()) {
                        int at = a.tag();
                        switch (at >>> 3) {
                            case 1 -> an = a.string();
                            case 2 -> f = Float.intBitsToFloat(a.fixed32());
                            case 3 -> i = a.varint();
                            case 5 -> t = tensor(a.sub());
                            default -> a.skip(at);
                        }
                    }
                    if (f != null) {
                        floats.put(an, f);
                    }
                    if (i != null) {
                        ints.put(an, i);
                    }
                    if (t != null) {
                        tensors.put(an, t);
                    }
                }
                default -> n.skip(tag);
            }
        }
        return new Node(name, op, in, out, floats, ints, tensors);
    }

    private static Tensor tensor(Wire t) throws IOException {
        List<Long> dims = new ArrayList<>();
        int type = 0;
        String name = "";
        byte[] raw = null;
        List<Float> floatData = new ArrayList<>();
        List<Long> longData = new ArrayList<>();
        while (t.more()) {
            int tag = t.tag();
            int field = tag >>> 3;
            boolean packed = (tag & 7) == 2;
            switch (field) {
                case 1 -> {
                    if (packed) {
                        Wire p = t.sub();
                        while (p.more()) {
                            dims.add(p.varint());
                        }
                    } else {
                        dims.add(t.varint());
                    }
                }
                case 2 -> type = (int) t.varint();
                case 4 -> {
                    if (packed) {
                        Wire p = t.sub();
                        while (p.more()) {
                            floatData.add(Float.intBitsToFloat(p.fixed32()));
                        }
                    } else {
                        floatData.add(Float.intBitsToFloat(t.fixed32()));
                    }
                }
                case 7 -> {
                    if (packed) {
                        Wire p = t.sub();
                        while (p.more()) {
                            longData.add(p.varint());
                        }
                    } else {
                        longData.add(t.varint());
                    }
                }
                case 8 -> name = t.string();
                case 9 -> raw = t.bytes();
                default -> t.skip(tag);
            }
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        float[] f = null;
        long[] l = null;
        if (type == FLOAT) {
            if (raw != null) {
                f = new float[raw.length / Float.BYTES];
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            } else {
                f = new float[floatData.size()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = floatData.get(i);
                }
            }
        } else if (type == INT64) {
            if (raw != null) {
                l = new long[raw.length / Long.BYTES];
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(l);
            } else {
                l = longData.stream().mapToLong(Long::longValue).toArray();
            }
        }
        Tensor out = new Tensor(name, d, type, f, l);
        long n = out.size();
        if ((f != null && f.length != n) || (l != null && l.length != n)) {
            throw new IOException("tensor " + name + " " + Arrays.toString(d) + " holds "
                    + (f != null ? f.length : l.length) + " values");
        }
        return out;
    }

    /** A protobuf message being read: a window {@code [pos, end)} of the bytes. */
    private static final class Wire {
        private final byte[] buf;
        private int pos;
        private final int end;

        Wire(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        int tag() throws IOException {
            return (int) varint();
        }

        long varint() throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new IOException("truncated varint");
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IOException("malformed varint");
        }

        int fixed32() throws IOException {
            if (pos + 4 > end) {
                throw new IOException("truncated fixed32");
            }
            int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16
                    | (buf[pos + 3] & 0xff) << 24;
            pos += 4;
            return v;
        }

        Wire sub() throws IOException {
            int len = length();
            Wire w = new Wire(buf, pos, pos + len);
            pos += len;
            return w;
        }

        byte[] bytes() throws IOException {
            int len = length();
            byte[] out = Arrays.copyOfRange(buf, pos, pos + len);
            pos += len;
            return out;
        }

        String string() throws IOException {
            int len = length();
            String s = new String(buf, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        private int length() throws IOException {
            long len = varint();
            if (len < 0 || pos + len > end) {
                throw new IOException("length " + len + " runs past the message");
            }
            return (int) len;
        }

        void skip(int tag) throws IOException {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> {
                    int len = length(); // not `pos += length()`: that adds to pos as it was before the length
                    pos += len;
                }
                case 5 -> pos += 4;
                default -> throw new IOException("unsupported wire type " + (tag & 7));
            }
            if (pos > end) {
                throw new IOException("field runs past the message");
            }
        }
    }
}
