package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.L2Loss;
import ai.djl.training.loss.Loss;

/**
 * DJL's {@link L2Loss}, {@code mean(weight · (pred − label)²)}, with its weight an
 * {@link EngineScalar}: DJL's own multiplies by {@code mul(Number)}, whose operand the engine may
 * read after it was freed in the backward pass (docs/findings.md). Same value, same gradient; the
 * Fisher read uses it in place of an {@code L2Loss}, and it can replace one in a training config.
 */
public final class SafeL2Loss extends Loss {

    /** DJL's default weight ({@code Loss.l2Loss()}). */
    public static final float DEFAULT_WEIGHT = 0.5f;

    private final float weight;

    /** A loss of weight {@link #DEFAULT_WEIGHT}, as {@code Loss.l2Loss()}. */
    public SafeL2Loss() {
        this("L2Loss", DEFAULT_WEIGHT);
    }

    /**
     * @param name the loss' name
     * @param weight the weight
     */
    public SafeL2Loss(String name, float weight) {
        super(name);
        this.weight = weight;
    }

    /**
     * The same loss as a DJL {@link L2Loss}: its weight, read from the private field DJL keeps it
     * in; {@link #DEFAULT_WEIGHT} if a DJL version renamed it.
     *
     * @param loss DJL's loss
     * @return the equivalent safe loss
     */
    public static SafeL2Loss of(L2Loss loss) {
        float w = DEFAULT_WEIGHT;
        try {
            java.lang.reflect.Field f = L2Loss.class.getDeclaredField("weight");
            f.setAccessible(true);
            w = f.getFloat(loss);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // DJL's default; SafeL2LossTest fails when a DJL upgrade changes the field
        }
        return new SafeL2Loss(loss.getName(), w);
    }

    /** @return the weight */
    public float weight() {
        return weight;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray pred = predictions.singletonOrThrow();
        NDArray label = labels.singletonOrThrow().reshape(pred.getShape());
        NDArray w = EngineScalar.of(pred.getManager(), weight, pred.getDataType());
        return pred.sub(label).square().mul(w).mean();
    }
}
