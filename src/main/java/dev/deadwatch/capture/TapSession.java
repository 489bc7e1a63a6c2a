package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Records the inputs and outputs of chosen blocks during forward passes on the opening thread,
 * and optionally adds a zero-valued gradient probe to a block's output so that one backward
 * pass yields the gradient with respect to that output ({@code δ} of docs/method.md §2).
 *
 * <p>The recorded arrays are the forward's own arrays, not copies: they live as long as the
 * manager of the forward pass, so read them before closing it. Given a manager to keep them in,
 * the session moves every recorded array and gradient probe there, so a block that frees its own
 * intermediate arrays when its forward returns (DJL's BERT blocks do) cannot free them before they
 * are read.
 */
public final class TapSession implements AutoCloseable {

    private final Map<Block, String> outputsOf;
    private final Map<Block, String> inputsOf;
    private final Map<Block, String> probesOf;
    private final Map<String, List<NDArray>> outputs = new LinkedHashMap<>();
    private final Map<String, List<NDArray>> inputs = new LinkedHashMap<>();
    private final Map<String, List<NDArray>> probes = new LinkedHashMap<>();
    private final NDManager keep;

    private TapSession(Map<Block, String> outputsOf, Map<Block, String> inputsOf,
            Map<Block, String> probesOf, NDManager keep) {
        this.outputsOf = outputsOf;
        this.inputsOf = inputsOf;
        this.probesOf = probesOf;
        this.keep = keep;
    }

    /**
     * Opens a session on the current thread.
     *
     * @param paths the model's paths
     * @param recordOutputs paths whose outputs to record
     * @param recordInputs paths whose first input to record
     * @param gradientProbes paths whose output gets a zero gradient probe
     * @return the open session; close it to stop recording
     */
    public static TapSession open(BlockPaths paths, Set<String> recordOutputs,
            Set<String> recordInputs, Set<String> gradientProbes) {
        return open(paths, recordOutputs, recordInputs, gradientProbes, null);
    }

    /**
     * Opens a session on the current thread that keeps what it records in {@code keep}.
     *
     * @param paths the model's paths
     * @param recordOutputs paths whose outputs to record
     * @param recordInputs paths whose first input to record
     * @param gradientProbes paths whose output gets a zero gradient probe
     * @param keep manager that owns every recorded array and probe from then on ({@code null}:
     *     they stay where the forward put them)
     * @return the open session; close it to stop recording
     */
    public static TapSession open(BlockPaths paths, Set<String> recordOutputs,
            Set<String> recordInputs, Set<String> gradientProbes, NDManager keep) {
        ForwardTaps.install();
        TapSession s = new TapSession(select(paths, recordOutputs), select(paths, recordInputs),
                select(paths, gradientProbes), keep);
        ForwardTaps.open(s);
        return s;
    }

    private NDArray kept(NDArray a) {
        if (keep != null) {
            a.attach(keep);
        }
        return a;
    }

    private static Map<Block, String> select(BlockPaths paths, Set<String> wanted) {
        Map<Block, String> out = new IdentityHashMap<>();
        for (String p : wanted) {
            Block b = paths.blockAt(p);
            if (b == null) {
                throw new IllegalArgumentException("no block at path '" + p + "'");
            }
            out.put(b, p);
        }
        return out;
    }

    NDList record(Object block, NDList in, NDList out) {
        String p = inputsOf.get(block);
        if (p != null && in != null && !in.isEmpty()) {
            inputs.computeIfAbsent(p, k -> new ArrayList<>()).add(kept(in.head()));
        }
        NDList result = out;
        p = probesOf.get(block);
        if (p != null && out != null && !out.isEmpty()) {
            NDArray head = out.head();
            NDArray zero = kept(head.zerosLike());
            zero.setRequiresGradient(true);
            probes.computeIfAbsent(p, k -> new ArrayList<>()).add(zero);
            NDList replaced = new NDList(out.size());
            replaced.add(kept(head.add(zero)));
            for (int i = 1; i < out.size(); i++) {
                replaced.add(out.get(i));
            }
            result = replaced;
        }
        p = outputsOf.get(block);
        if (p != null && result != null && !result.isEmpty()) {
            outputs.computeIfAbsent(p, k -> new ArrayList<>()).add(kept(result.head()));
        }
        return result;
    }

    /** @return path → recorded outputs, one per call of the block (unmodifiable view) */
    public Map<String, List<NDArray>> outputs() {
        return Collections.unmodifiableMap(outputs);
    }

    /** @return path → recorded first inputs, one per call */
    public Map<String, List<NDArray>> inputs() {
        return Collections.unmodifiableMap(inputs);
    }

    /** @return path → gradient probes; after a backward pass their gradients are the δ */
    public Map<String, List<NDArray>> probes() {
        return Collections.unmodifiableMap(probes);
    }

    @Override
    public void close() {
        ForwardTaps.close(this);
    }
}
