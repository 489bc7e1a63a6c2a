/**
 * The {@code -javaagent}: attaches a {@link dev.deadwatch.listener.DeadwatchListener} to every
 * DJL {@code Trainer} the program creates, with no code change, and closes it when the trainer
 * is closed; every trainer's monitor publishes into the JVM's one endpoint. Thin by design: the
 * premain parses its arguments, installs its advice and never throws or exits; everything else
 * is library code. Every dependency but DJL and SLF4J is shaded and relocated under
 * {@code dev.deadwatch.shaded}.
 */
package dev.deadwatch.agent;
