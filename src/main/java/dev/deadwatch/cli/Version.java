package dev.deadwatch.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** The build version, from the filtered {@code dev/deadwatch/version.properties}. */
public final class Version implements CommandLine.IVersionProvider {

    /** @return the project version, or {@code unknown} outside a build */
    public static String get() {
        try (InputStream in = Version.class.getResourceAsStream("/dev/deadwatch/version.properties")) {
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

    @Override
    public String[] getVersion() {
        return new String[] {"deadwatch " + get()};
    }
}
