package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.TapSession;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The outputs and first inputs of the tapped layers on the probe batch, recorded by inference
 * forward passes and kept until {@link #close()}.
 *
 * <p>A forward pass holds every intermediate array it makes until it ends, the recorded ones and
 * the rest (on a transformer the rest is nearly as much again: attention scores, the products
 * inside a GELU). When one sample's recorded arrays are large, the probe is therefore recorded in
 * passes over successive groups of samples, at most {@link #BYTES_PER_PASS} of recorded arrays
 * each; a pass keeps what it recorded and frees the rest before the next one starts. Each layer's
 * arrays are then listed call by call, a call's passes in sample order, so that joined along their
 * first axis they are the rows one pass over the whole probe gives, in the same order. A sample's
 * activations do not depend on the other samples (an inference forward); the arithmetic of a
 * smaller batch may round differently in the last bits, the same way for every read of a snapshot.
 * An array that is both one layer's output and another's input stays one array.
 */
public final class RecordedActivations implements AutoCloseable {

    /**
     * Recorded bytes per forward pass above which the probe is recorded in passes (on the
     * MiniLM-size encoder, float64: 10 MB a sample, so passes of 3 of its 16 samples).
     */
    public static final long BYTES_PER_PASS = 32L << 20;

    private final NDManager manager;
    private final AutoCloseable owner;
    private final Map<String, List<NDArray>> outputs;
    private final Map<String, List<NDArray>> inputs;
    private final int passes;

    private RecordedActivations(NDManager manager, AutoCloseable owner, Map<String, List<NDArray>> outputs,
            Map<String, List<NDArray>> inputs, int passes) {
        this.manager = manager;
        this.owner = owner;
        this.outputs = Collections.unmodifiableMap(outputs);
        this.inputs = Collections.unmodifiableMap(inputs);
        this.passes = passes;
    }

    /**
     * Records the layers' outputs and inputs, in passes of at most {@link #BYTES_PER_PASS}
     * recorded bytes.
     *
     * @param probe the model on its probe batch
     * @param outputsOf paths whose outputs to record
     * @param inputsOf paths whose first input to record
     * @return the recorded arrays; close to free them
     */
    public static RecordedActivations record(ModelProbe probe, Set<String> outputsOf, Set<String> inputsOf) {
        return record(probe, outputsOf, inputsOf, BYTES_PER_PASS);
    }

    /**
     * @param probe the model on its probe batch
     * @param outputsOf paths whose outputs to record
     * @param inputsOf paths whose first input to record
     * @param bytesPerPass recorded bytes per pass above which the probe is split, at least 1
     * @return the recorded arrays; close to free them
     */
    static RecordedActivations record(ModelProbe probe, Set<String> outputsOf, Set<String> inputsOf,
            long bytesPerPass) {
        if (bytesPerPass < 1) { // before the sizing pass
            throw new IllegalArgumentException("bytesPerPass must be >= 1, got " + bytesPerPass);
        }
        long perSample = 0;
        if (probe.samples() > 1) {
            try (ModelProbe.Capture one = probe.capture(outputsOf, inputsOf, 1)) {
                perSample = recordedBytes(one.session());
            }
        }
        return record(probe, outputsOf, inputsOf, bytesPerPass, perSample);
    }

    /**
     * {@link #record(ModelProbe, Set, Set, long)} with the passes sized by {@code bytesPerSample}
     * (planned already, {@link ActivationPlan#bytesPerSample()}).
     *
     * @param bytesPerSample bytes a sample's pass is taken to hold (0: record in one pass)
     */
    static RecordedActivations record(ModelProbe probe, Set<String> outputsOf, Set<String> inputsOf,
            long bytesPerPass, long bytesPerSample) {
        if (bytesPerPass < 1) {
            throw new IllegalArgumentException("bytesPerPass must be >= 1, got " + bytesPerPass);
        }
        int n = probe.samples();
        int per = bytesPerSample <= 0 ? n : (int) Math.max(1, Math.min(n, bytesPerPass / bytesPerSample));
        if (per >= n) {
            ModelProbe.Capture whole = probe.capture(outputsOf, inputsOf, Set.of(), false);
            return new RecordedActivations(whole.manager(), whole, new LinkedHashMap<>(whole.session().outputs()),
                    new LinkedHashMap<>(whole.session().inputs()), 1);
        }
        NDManager kept = probe.inputs().head().getManager().newSubManager();
        kept.setName("deadwatch-activations");
        try {
            Map<String, List<List<NDArray>>> outs = new LinkedHashMap<>();
            Map<String, List<List<NDArray>>> ins = new LinkedHashMap<>();
            int passes = 0;
            for (int from = 0; from < n; from += per) {
                try (ModelProbe.Capture c = probe.capture(outputsOf, inputsOf, Set.of(), false, from,
                        Math.min(n, from + per))) {
                    keep(c.session().outputs(), kept, outs);
                    keep(c.session().inputs(), kept, ins);
                }
                passes++;
            }
            return new RecordedActivations(kept, kept, callMajor(outs), callMajor(ins), passes);
        } catch (RuntimeException e) {
            kept.close();
            throw e;
        }
    }

    /** @return the bytes of the distinct arrays a session recorded (an array both output and input counts once) */
    static long recordedBytes(TapSession session) {
        Set<NDArray> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        long bytes = 0;
        for (Map<String, List<NDArray>> m : List.of(session.outputs(), session.inputs())) {
            for (List<NDArray> calls : m.values()) {
                for (NDArray a : calls) {
                    if (seen.add(a)) {
                        bytes += a.size() * a.getDataType().getNumOfBytes();
                    }
                }
            }
        }
        return bytes;
    }

    /** Moves a pass's recorded arrays into {@code kept} and adds them, per layer, as that pass's calls. */
    private static void keep(Map<String, List<NDArray>> recorded, NDManager kept,
            Map<String, List<List<NDArray>>> into) {
        recorded.forEach((layer, calls) -> {
            for (NDArray a : calls) {
                a.attach(kept);
            }
            into.computeIfAbsent(layer, k -> new ArrayList<>()).add(List.copyOf(calls));
        });
    }

    /**
     * Per layer: call 1 of every pass, then call 2 of every pass, and so on; a layer whose passes
     * saw different numbers of calls keeps pass order.
     */
    static Map<String, List<NDArray>> callMajor(Map<String, List<List<NDArray>>> perPass) {
        Map<String, List<NDArray>> out = new LinkedHashMap<>();
        perPass.forEach((layer, passes) -> {
            List<NDArray> calls = new ArrayList<>();
            int k = passes.get(0).size();
            if (passes.stream().allMatch(p -> p.size() == k)) {
                for (int call = 0; call < k; call++) {
                    for (List<NDArray> p : passes) {
                        calls.add(p.get(call));
                    }
                }
            } else {
                passes.forEach(calls::addAll);
            }
            out.put(layer, Collections.unmodifiableList(calls));
        });
        return out;
    }

    /** @return path → recorded outputs: per call of the block, its passes in sample order */
    public Map<String, List<NDArray>> outputs() {
        return outputs;
    }

    /** @return path → recorded first inputs, listed as {@link #outputs()} */
    public Map<String, List<NDArray>> inputs() {
        return inputs;
    }

    /** @return a manager for temporaries that lives as long as the recorded arrays */
    public NDManager manager() {
        return manager;
    }

    /** @return the forward passes the probe was recorded in */
    public int passes() {
        return passes;
    }

    @Override
    public void close() {
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the recorded activations failed", e);
        }
    }
}
