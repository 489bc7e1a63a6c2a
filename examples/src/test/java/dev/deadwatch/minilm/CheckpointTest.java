package dev.deadwatch.minilm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.nn.Parameter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The ONNX reader and the name mapping of the checkpoint's weights. */
class CheckpointTest {

    /** all-MiniLM-L6-v2's float parameters, counted by hand from its configuration. */
    private static final long PARAMETERS = 30522L * 384 + 512 * 384 + 2 * 384 + 2 * 384
            + 6 * (4 * (384 * 384 + 384) + 2 * 2 * 384 + (384 * 1536 + 1536) + (1536 * 384 + 384));

    @Test
    void readsTheWireFormatOfAHandMadeModel() throws IOException {
        // ModelProto{ ir_version=7, graph=GraphProto{ node=Node{in "x","w"; out "y"; name "/a/b/MatMul"; op "MatMul"},
        //   initializer=Tensor{dims 2,3 (packed); FLOAT; raw_data 6 floats; name "w"},
        //   initializer=Tensor{dims 2 (unpacked); FLOAT; float_data packed; name "bias"} } }
        ByteArrayOutputStream node = new ByteArrayOutputStream();
        string(node, 1, "x");
        string(node, 1, "w");
        string(node, 2, "y");
        string(node, 3, "/a/b/MatMul");
        string(node, 4, "MatMul");
        ByteArrayOutputStream w = new ByteArrayOutputStream();
        bytes(w, 1, new byte[] {2, 3});
        tag(w, 2, 0);
        w.write(1);
        ByteBuffer raw = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            raw.putFloat(i + 0.5f);
        }
        string(w, 8, "w");
        bytes(w, 9, raw.array());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        tag(b, 1, 0);
        b.write(2);
        tag(b, 2, 0);
        b.write(1);
        ByteBuffer fd = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(-1f).putFloat(2.25f);
        bytes(b, 4, fd.array());
        string(b, 8, "bias");
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        bytes(graph, 1, node.toByteArray());
        bytes(graph, 5, w.toByteArray());
        bytes(graph, 5, b.toByteArray());
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        tag(model, 1, 0);
        model.write(7);
        string(model, 2, "p".repeat(200)); // skipped: a length of two varint bytes
        bytes(model, 7, graph.toByteArray());

        OnnxGraph g = OnnxGraph.parse(model.toByteArray());
        assertThat(g.nodes()).hasSize(1);
        assertThat(g.nodes().get(0).op()).isEqualTo("MatMul");
        assertThat(g.nodes().get(0).inputs()).containsExactly("x", "w");
        assertThat(g.initializers().get("w").dims()).containsExactly(2, 3);
        assertThat(g.initializers().get("w").floats()).containsExactly(0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f);
        assertThat(g.initializers().get("bias").floats()).containsExactly(-1f, 2.25f);

        Checkpoint c = Checkpoint.of(g);
        // the MatMul's right operand (in=2, out=3) is the Linear weight of module a.b, transposed to (3, 2)
        assertThat(c.weights().get("a.b.weight").shape()).containsExactly(3, 2);
        assertThat(c.weights().get("a.b.weight").values()).containsExactly(0.5f, 3.5f, 1.5f, 4.5f, 2.5f, 5.5f);
        assertThat(c.weights().get("bias").values()).containsExactly(-1f, 2.25f);
    }

    @Test
    void rejectsATruncatedModel() {
        byte[] truncated = {0x3a, 0x10, 0x0a}; // graph of 16 bytes, 1 present
        assertThatThrownBy(() -> OnnxGraph.parse(truncated)).isInstanceOf(IOException.class);
    }

    @Test
    void namesEveryTransposedMatMulWeightByItsNode() {
        Checkpoint c = Pretrained.checkpoint();
        Map<String, String> sources = c.matMulSources();
        assertThat(sources).hasSize(6 * 6);
        assertThat(new HashSet<>(sources.values())).hasSize(36).allMatch(s -> s.startsWith("onnx::MatMul_"));
        for (int i = 0; i < 6; i++) {
            for (String m : new String[] {"attention.self.query", "attention.self.key", "attention.self.value",
                "attention.output.dense", "intermediate.dense", "output.dense"}) {
                assertThat(sources).containsKey("encoder.layer." + i + "." + m + ".weight");
            }
        }
        // the first query projection is the first MatMul initializer of the export
        assertThat(sources.get("encoder.layer.0.attention.self.query.weight")).isEqualTo("onnx::MatMul_787");
        assertThat(c.weights().get("encoder.layer.3.intermediate.dense.weight").shape()).containsExactly(1536, 384);
        assertThat(c.weights().get("encoder.layer.3.output.dense.weight").shape()).containsExactly(384, 1536);
        assertThat(c.parameterCount()).isEqualTo(PARAMETERS);
    }

    @Test
    void everyParameterOfTheDjlModelHoldsItsOwnCheckpointTensor() {
        MiniLm model = Pretrained.model();
        Map<Parameter, String> names = model.checkpointNames();
        assertThat(names).hasSize(model.getParameters().size());
        assertThat(new HashSet<>(names.values())).hasSize(names.size());
        Set<String> all = new HashSet<>(Pretrained.checkpoint().names());
        assertThat(all).containsAll(names.values());
        // a loaded parameter holds its tensor: the query bias of layer 2, entry 5
        Parameter qb = model.layers().get(2).attention().queryProjection().getParameters().get("bias");
        assertThat(qb.getArray().toFloatArray()[5])
                .isEqualTo(Pretrained.checkpoint().weights().get("encoder.layer.2.attention.self.query.bias").values()[5]);
    }

    @Test
    void theLastLayerNormHasACoordinateWhoseScaleIsZeroToThirtyDigits() {
        // a property of the checkpoint that the frozen read reports (docs/minilm.md)
        float[] gamma = Pretrained.checkpoint().weights().get("encoder.layer.5.output.LayerNorm.weight").values();
        assertThat(Math.abs(gamma[223])).isLessThan(1e-30f);
        float[] first = Pretrained.checkpoint().weights().get("embeddings.LayerNorm.weight").values();
        for (float g : first) {
            assertThat(Math.abs(g)).isGreaterThan(0.1f);
        }
    }

    @Test
    void moduleOfANodeIsItsPathWithDots() {
        assertThat(Checkpoint.moduleOf("/encoder/layer.0/attention/self/query/MatMul"))
                .isEqualTo("encoder.layer.0.attention.self.query");
        assertThatThrownBy(() -> Checkpoint.moduleOf("MatMul")).isInstanceOf(IllegalArgumentException.class);
    }

    private static void tag(ByteArrayOutputStream out, int field, int wire) {
        out.write(field << 3 | wire);
    }

    private static void bytes(ByteArrayOutputStream out, int field, byte[] b) {
        tag(out, field, 2);
        int len = b.length;
        while (len >= 0x80) { // varint
            out.write(len & 0x7f | 0x80);
            len >>>= 7;
        }
        out.write(len);
        out.writeBytes(b);
    }

    private static void string(ByteArrayOutputStream out, int field, String s) {
        bytes(out, field, s.getBytes(StandardCharsets.UTF_8));
    }
}
