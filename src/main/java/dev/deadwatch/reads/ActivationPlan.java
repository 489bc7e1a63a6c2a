package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import dev.deadwatch.capture.ModelProbe;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * How the activation side records the tapped layers: all in one recording that the reads share,
 * or, when that recording would hold more than a limit ({@link ReadContext#activationGroupBytes}),
 * in consecutive groups of layers, each recorded by forward passes of its own and read and freed
 * before the next group is recorded. A group's recording is its layers' outputs, and the first
 * inputs of those layers the plan was told need them.
 *
 * <p>The plan also names each layer's <em>producer</em>: the layer whose recorded output is its
 * input, the same array in the same pass (the last such layer before it, in forward order). The DDS
 * read takes what a layer's input lacks from its producer's read; with groups, producer and
 * consumer may be recorded by different passes, whose arrays are not the same, so the link is made
 * once, by layer, from one recording.
 */
final class ActivationPlan {

    private final List<List<String>> groups;
    private final Set<String> needsInput;
    private final long bytesPerSample;
    private final Map<String, String> producers;

    private ActivationPlan(List<List<String>> groups, Set<String> needsInput, long bytesPerSample,
            Map<String, String> producers) {
        this.groups = groups;
        this.needsInput = needsInput;
        this.bytesPerSample = bytesPerSample;
        this.producers = producers;
    }

    /**
     * One group, the recording the reads share: its producers are read off it.
     *
     * @param layers the tapped layers, in forward order
     * @param recorded the layers' outputs and inputs
     * @return the plan
     */
    static ActivationPlan whole(List<String> layers, RecordedActivations recorded) {
        List<String> all = List.copyOf(layers);
        return new ActivationPlan(List.of(all), Set.of(), 0, producers(all, recorded.outputs(), recorded.inputs()));
    }

    /**
     * Plans from one sample's forward pass, which records every layer's outputs and the inputs
     * {@code needsInput} asks for.
     *
     * @param probe the model on its probe batch
     * @param layers the tapped layers, in forward order
     * @param needsInput whether a layer's input is recorded with its outputs
     * @param groupBytes recorded bytes a group holds at most (a layer larger than that is a group
     *     of its own), at least 1
     * @return the plan: one group when every layer fits in {@code groupBytes}
     */
    static ActivationPlan of(ModelProbe probe, List<String> layers, Predicate<String> needsInput, long groupBytes) {
        if (groupBytes < 1) {
            throw new IllegalArgumentException("groupBytes must be >= 1, got " + groupBytes);
        }
        Set<String> outs = new LinkedHashSet<>(layers);
        Set<String> ins = new LinkedHashSet<>();
        layers.stream().filter(needsInput).forEach(ins::add);
        int n = probe.samples();
        try (ModelProbe.Capture one = probe.capture(outs, ins, 1)) {
            Map<String, List<NDArray>> outputs = one.session().outputs();
            Map<String, List<NDArray>> inputs = one.session().inputs();
            List<List<String>> groups = new ArrayList<>();
            List<String> group = new ArrayList<>();
            Set<NDArray> held = Collections.newSetFromMap(new IdentityHashMap<>());
            long bytes = 0;
            for (String layer : layers) {
                List<NDArray> arrays = new ArrayList<>(outputs.getOrDefault(layer, List.of()));
                arrays.addAll(inputs.getOrDefault(layer, List.of()));
                long added = newBytes(arrays, held);
                if (!group.isEmpty() && (bytes + added) * n > groupBytes) {
                    groups.add(List.copyOf(group));
                    group = new ArrayList<>();
                    held.clear();
                    bytes = 0;
                    added = newBytes(arrays, held);
                }
                group.add(layer);
                held.addAll(arrays);
                bytes += added;
            }
            if (!group.isEmpty()) {
                groups.add(List.copyOf(group));
            }
            return new ActivationPlan(List.copyOf(groups), Collections.unmodifiableSet(ins),
                    RecordedActivations.recordedBytes(one.session()), producers(layers, outputs, inputs));
        }
    }

    /** @return the bytes of the distinct arrays among {@code arrays} not in {@code held} */
    private static long newBytes(List<NDArray> arrays, Set<NDArray> held) {
        Set<NDArray> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long b = 0;
        for (NDArray a : arrays) {
            if (!held.contains(a) && seen.add(a)) {
                b += a.size() * a.getDataType().getNumOfBytes();
            }
        }
        return b;
    }

    /**
     * For every layer whose recorded inputs are all outputs of one layer recorded before it: that
     * layer (when several recorded it, the last before the consumer).
     */
    static Map<String, String> producers(List<String> layers, Map<String, List<NDArray>> outputs,
            Map<String, List<NDArray>> inputs) {
        Map<NDArray, String> madeBy = new IdentityHashMap<>();
        Map<String, String> out = new HashMap<>();
        for (String layer : layers) {
            List<NDArray> in = inputs.get(layer);
            if (in != null && !in.isEmpty()) {
                String p = madeBy.get(in.get(0));
                if (p != null && in.stream().allMatch(a -> p.equals(madeBy.get(a)))) {
                    out.put(layer, p);
                }
            }
            outputs.getOrDefault(layer, List.of()).forEach(a -> madeBy.put(a, layer));
        }
        return Collections.unmodifiableMap(out);
    }

    /** @return the layers in the groups they are recorded in, in forward order (one group: a shared recording) */
    List<List<String>> groups() {
        return groups;
    }

    /** @return whether the layers are recorded in more than one group */
    boolean grouped() {
        return groups.size() > 1;
    }

    /**
     * @param group one of {@link #groups()}
     * @return the layers of it whose input is recorded with their outputs
     */
    Set<String> inputsOf(List<String> group) {
        Set<String> in = new LinkedHashSet<>(group);
        in.retainAll(needsInput);
        return in;
    }

    /**
     * What one sample's recording of every layer holds, the measure of the passes: a forward pass
     * holds every array it makes until it ends, so a pass that records one group still holds about
     * this much a sample, and passes are sized by it ({@link RecordedActivations#BYTES_PER_PASS}),
     * not by what the group keeps.
     *
     * @return bytes, or 0 where not planned (one group)
     */
    long bytesPerSample() {
        return bytesPerSample;
    }

    /**
     * Records these layers for the whole probe, in passes of as many samples as hold at most
     * {@code bytesPerPass} of a forward pass's arrays (one sample's taken as {@link #bytesPerSample()}).
     *
     * @param probe the model on its probe batch
     * @param outputsOf layers whose outputs to record
     * @param inputsOf layers whose first input to record
     * @param bytesPerPass at least 1
     * @return the recording; close to free it
     */
    RecordedActivations record(ModelProbe probe, Set<String> outputsOf, Set<String> inputsOf, long bytesPerPass) {
        return RecordedActivations.record(probe, outputsOf, inputsOf, bytesPerPass, bytesPerSample);
    }

    /**
     * @param layer a tapped layer
     * @return the layer whose output is its input, or {@code null} when there is none (or several)
     */
    String producer(String layer) {
        return producers.get(layer);
    }
}
