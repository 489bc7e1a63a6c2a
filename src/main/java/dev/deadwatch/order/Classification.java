package dev.deadwatch.order;

/** The order read's verdict on a candidate (docs/method.md §3). */
public enum Classification {
    /** Flat gauge: {@code F_v} at the noise floor or the deep floor everywhere. Contributes 0. */
    GAUGE,
    /** Genuine singularity: {@code k̂ ≥ 1.5}. Contributes {@code 1/(2k)}. */
    SINGULAR,
    /** Regular (live) direction: {@code k̂ < 1.5} and not at the floor. */
    REGULAR,
    /** No asymptotic window: no order is reported. An answer, not an error. */
    PREASYMPTOTIC
}
