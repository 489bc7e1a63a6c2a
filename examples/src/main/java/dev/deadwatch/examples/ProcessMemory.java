package dev.deadwatch.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory figures, from Linux's {@code /proc/self/status}. */
public final class ProcessMemory {

    private ProcessMemory() {
    }

    /**
     * @param key a {@code /proc/self/status} field in kB, e.g. {@code VmRSS} (resident) or
     *     {@code VmHWM} (peak resident)
     * @return its value in MB, or {@code n/a} where there is none (not Linux)
     */
    public static String megabytes(String key) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(key + ":")) {
                    return String.valueOf(Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
        return "n/a";
    }
}
