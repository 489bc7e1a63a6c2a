package dev.deadwatch.export;

import ai.djl.engine.Engine;
import dev.deadwatch.linalg.Eigensolver;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What {@code deadwatch_info} says about a run: the deadwatch version, the engine, the precision
 * of the reads and the eigensolver of their spectra.
 *
 * @param version the deadwatch version ({@link #currentVersion()})
 * @param engine engine name and version, e.g. {@code PyTorch 2.7.1}
 * @param precision precision of the reads, {@code float32} or {@code float64}
 * @param eigensolver the JVM's eigensolver ({@link Eigensolver#label()}), {@code lapack} or {@code ejml}
 */
public record BuildInfo(String version, String engine, String precision, String eigensolver) {

    /**
     * With the JVM's eigensolver ({@link Eigensolver#selected()}).
     *
     * @param version the deadwatch version
     * @param engine engine name and version
     * @param precision precision of the reads
     */
    public BuildInfo(String version, String engine, String precision) {
        this(version, engine, precision, Eigensolver.selected().label());
    }

    /**
     * @param precision precision of the reads
     * @return this build's version with the default engine and the JVM's eigensolver
     * @throws IllegalArgumentException if {@value Eigensolver#PROPERTY} names no eigensolver
     * @throws IllegalStateException if it asks for LAPACK and LAPACK cannot run
     */
    public static BuildInfo of(String precision) {
        Engine e = Engine.getInstance();
        return new BuildInfo(currentVersion(), e.getEngineName() + " " + e.getVersion(), precision);
    }

    /** @return the project version from the filtered {@code dev/deadwatch/version.properties}, or {@code unknown} outside a build */
    public static String currentVersion() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("/dev/deadwatch/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
