/**
 * Small DJL blocks deadwatch's cells and examples need and DJL does not ship with the right
 * precision behaviour: an RMSNorm (the no-kernel twin of LayerNorm), a multi-head self-attention
 * that initializes in the requested data type, and the scalar cells {@code y = a sᵏ x}.
 *
 * <p>Blocks are not thread-safe (as all DJL blocks); cost is that of their forward pass.
 */
package dev.deadwatch.blocks;
