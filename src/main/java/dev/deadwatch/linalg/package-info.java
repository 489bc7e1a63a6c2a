/**
 * Dense float64 linear algebra on plain {@code double[]}: symmetric eigendecomposition and the
 * spectral observables of docs/method.md §2 (active volume, volume slope, effective rank).
 *
 * <p>No DJL here. Everything is thread-safe; the cost is dominated by the symmetric eigensolve,
 * O(n^3) in the matrix order n (the smaller of width and rows, so at most {@code N_max} = 4096 by
 * default), by native LAPACK when it loads and EJML otherwise ({@link dev.deadwatch.linalg.Eigensolver},
 * chosen once per JVM).
 */
package dev.deadwatch.linalg;
