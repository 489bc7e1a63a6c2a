package dev.deadwatch.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shape of the code, read from the sources: the library's packages form no cycle, the library
 * does not reach into the application, and no main-code class of any module is over
 * {@link #MAX_LINES} lines.
 */
class ArchitectureTest {

    /** The longest a main-code file may be. */
    static final int MAX_LINES = 400;
    /** The repository root, from the core module's directory (Surefire's working directory). */
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path CORE = ROOT.resolve("src/main/java/dev/deadwatch");
    private static final List<Path> MAIN_SOURCES = List.of(ROOT.resolve("src/main/java"),
            ROOT.resolve("examples/src/main/java"), ROOT.resolve("agent/src/main/java"));
    /** A reference to another deadwatch package, by import or fully qualified name. */
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.deadwatch\\.(\\w+)\\.[A-Z]");

    @Test
    void theLibrarysPackagesFormNoCycle() throws IOException {
        Map<String, Set<String>> graph = packageGraph();
        assertThat(graph).containsKeys("linalg", "capture", "reads", "order", "detectors", "census", "monitor",
                "export", "regime", "listener");
        List<List<String>> cycles = new ArrayList<>();
        for (String start : graph.keySet()) {
            findCycle(graph, start, new ArrayList<>(List.of(start)), cycles);
        }
        assertThat(cycles).as("package cycles in deadwatch-core (graph %s)", graph).isEmpty();
    }

    @Test
    void theLibraryKnowsNothingOfTheApplication() throws IOException {
        Map<String, Set<String>> graph = packageGraph();
        Set<String> application = Set.of("cli", "cells", "blocks", "bench", "examples", "agent");
        graph.forEach((from, to) -> assertThat(to).as("core package %s depends on", from).doesNotContainAnyElementsOf(application));
        assertThat(graph.keySet()).doesNotContainAnyElementsOf(application);
    }

    @Test
    void noMainCodeFileIsOverTheLimit() throws IOException {
        Map<String, Long> over = new TreeMap<>();
        for (Path dir : MAIN_SOURCES) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    long lines;
                    try (Stream<String> l = Files.lines(f)) {
                        lines = l.count();
                    }
                    if (lines > MAX_LINES) {
                        over.put(ROOT.relativize(f).toString(), lines);
                    }
                }
            }
        }
        assertThat(over).as("main-code files over %d lines", MAX_LINES).isEmpty();
    }

    /** @return core package → the other core packages its code refers to */
    private static Map<String, Set<String>> packageGraph() throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(CORE)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = CORE.relativize(f.getParent()).toString().replace('/', '.');
                Set<String> refs = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = REFERENCE.matcher(withoutComments(Files.readString(f)));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        refs.add(m.group(1));
                    }
                }
            }
        }
        return graph;
    }

    private static String withoutComments(String java) {
        return java.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
    }

    private static void findCycle(Map<String, Set<String>> graph, String at, List<String> path, List<List<String>> out) {
        for (String next : graph.getOrDefault(at, Set.of())) {
            if (next.equals(path.get(0))) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(next);
                out.add(cycle);
            } else if (!path.contains(next) && next.compareTo(path.get(0)) > 0) {
                path.add(next);
                findCycle(graph, next, path, out);
                path.remove(path.size() - 1);
            }
        }
    }
}
