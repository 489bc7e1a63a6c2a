package dev.deadwatch.capture;

import ai.djl.ndarray.types.DataType;

/**
 * The arithmetic a read runs in: float64 on a replica of the model (when a block factory is
 * given) or float32 on the model itself. Fixes the machine epsilon and the order-read grid of
 * docs/method.md §3.
 */
public enum Precision {
    /** Reads on a float64 replica. Grid {@code [1e-3, 3e-1] × s}. */
    FLOAT64(DataType.FLOAT64, 0x1.0p-52, 1e-3, 3e-1),
    /** Reads on the float32 model itself. Grid {@code [1e-2, 1] × s}. */
    FLOAT32(DataType.FLOAT32, 0x1.0p-23, 1e-2, 1.0);

    private final DataType dataType;
    private final double epsilon;
    private final double gridLow;
    private final double gridHigh;

    Precision(DataType dataType, double epsilon, double gridLow, double gridHigh) {
        this.dataType = dataType;
        this.epsilon = epsilon;
        this.gridLow = gridLow;
        this.gridHigh = gridHigh;
    }

    /** @return the engine data type */
    public DataType dataType() {
        return dataType;
    }

    /** @return the machine epsilon (unit roundoff × 2) */
    public double epsilon() {
        return epsilon;
    }

    /** @return the low end of the order-read grid, in units of the tensor RMS {@code s} */
    public double gridLow() {
        return gridLow;
    }

    /** @return the high end of the order-read grid, in units of {@code s} */
    public double gridHigh() {
        return gridHigh;
    }

    /**
     * @param name {@code float32} or {@code float64} (case-insensitive)
     * @return the precision
     * @throws IllegalArgumentException naming the bad value
     */
    public static Precision parse(String name) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException(
                "precision must be float32 or float64, got '" + name + "'");
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
