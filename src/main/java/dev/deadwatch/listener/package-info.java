/**
 * The DJL {@code TrainingListener} that runs the reads live. The training thread only captures
 * (a copy of the parameters, the probe batch once, the Fisher side when enabled) and measures its
 * own pause; analysis runs on one background worker behind a queue of one (a full queue drops
 * the snapshot and counts {@code busy}). No callback ever throws into DJL.
 */
package dev.deadwatch.listener;
