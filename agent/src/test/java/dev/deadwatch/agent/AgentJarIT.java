package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The shaded agent jar holds only deadwatch's own namespace: every dependency is relocated, except
 * the native LAPACK binding, which cannot be: its JNI library's symbols name
 * {@code dev.ludovic.netlib.lapack} and {@code org.netlib.util}, and it loads itself from
 * {@code resources/native/}.
 */
class AgentJarIT {

    /** Where the JNI binding's entries are (dev.ludovic.netlib:lapack and its net.sourceforge.f2j dependency) … */
    static final List<String> BINDING = List.of("dev/ludovic/", "org/netlib/", "resources/native/");
    /** … and the folders above them. */
    static final List<String> BINDING_PARENTS = List.of("org/", "resources/");

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
                boolean ok = n.equals("dev/") || n.startsWith("dev/deadwatch/") || n.startsWith("META-INF/")
                        || BINDING.stream().anyMatch(n::startsWith) || BINDING_PARENTS.contains(n);
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
            assertThat(jar.getEntry("dev/ludovic/netlib/lapack/JNILAPACK.class")).as("native LAPACK, unrelocated").isNotNull();
            assertThat(jar.getEntry("org/netlib/util/intW.class")).isNotNull();
            assertThat(jar.getEntry("resources/native/Linux-amd64/libnetliblapackjni.so")).isNotNull();
        }
        assertThat(outside).as("entries outside dev/deadwatch/, META-INF/ and the LAPACK binding's").isEmpty();
        assertThat(relocated).isGreaterThan(1000);
    }
}
