package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The shaded agent jar holds only deadwatch's own namespace: every dependency is relocated under
 * {@code dev/deadwatch/shaded/}, and none carries a JNI library (native LAPACK is opened through
 * the application's JNA, which DJL brings).
 */
class AgentJarIT {

    static Path agentJar() {
        return Path.of(System.getProperty("deadwatch.agent.jar", "target/deadwatch-agent.jar"));
    }

    @Test
    void everyEntryIsUnderAnAllowedPrefixAndTheManifestNamesThePremain() throws Exception {
        List<String> outside = new ArrayList<>();
        int relocated = 0;
        try (JarFile jar = new JarFile(agentJar().toFile())) {
            for (JarEntry e : java.util.Collections.list(jar.entries())) {
                String n = e.getName();
                if (n.startsWith("dev/deadwatch/shaded/")) {
                    relocated++;
                }
                boolean ok = n.equals("dev/") || n.startsWith("dev/deadwatch/") || n.startsWith("META-INF/");
                boolean metaClass = n.startsWith("META-INF/") && n.endsWith(".class");
                if (!ok || metaClass) {
                    outside.add(n);
                }
            }
            assertThat(jar.getManifest().getMainAttributes().getValue("Premain-Class"))
                    .isEqualTo("dev.deadwatch.agent.DeadwatchAgent");
            assertThat(jar.getManifest().getMainAttributes().getValue("Can-Retransform-Classes")).isEqualTo("true");
            assertThat(jar.getEntry("dev/deadwatch/shaded/net/bytebuddy/asm/Advice.class")).isNotNull();
            assertThat(jar.getEntry("dev/deadwatch/shaded/io/micrometer/core/instrument/MeterRegistry.class")).isNotNull();
            assertThat(jar.getEntry("dev/deadwatch/shaded/org/ejml/data/DMatrixRMaj.class")).isNotNull();
            assertThat(jar.getEntry("ai/djl/nn/Block.class")).as("DJL comes from the application").isNull();
            assertThat(jar.getEntry("com/sun/jna/Native.class")).as("JNA comes from the application").isNull();
        }
        assertThat(outside).as("entries outside dev/deadwatch/ and META-INF/").isEmpty();
        assertThat(relocated).isGreaterThan(1000);
    }
}
