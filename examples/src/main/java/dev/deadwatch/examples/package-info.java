/**
 * Runnable training examples that reproduce the phenomena deadwatch watches for, each small
 * enough for a 2-core CPU: node death under weight decay, grokking on modular addition, the
 * LayerNorm kernel and its RMSNorm twin, and the quickstart. {@link
 * dev.deadwatch.examples.DemoCommand} runs them with the monitor as {@code deadwatch demo}.
 */
package dev.deadwatch.examples;
