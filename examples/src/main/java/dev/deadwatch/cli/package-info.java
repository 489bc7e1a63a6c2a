/**
 * The {@code deadwatch} command line ({@code ./deadwatch} at the repository root runs it).
 * Commands run on the calling thread and exit with 0 on success, 1 when a check fails and 2 on
 * bad usage.
 */
package dev.deadwatch.cli;
