package dev.deadwatch.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Prometheus text exposition (format 0.0.4) cut and joined by metric family, for the agent's dump:
 * the final series of each finished trainer, kept when its monitor closes, and the live ones at
 * exit become one exposition with one {@code # HELP} and {@code # TYPE} per family (concatenated
 * scrapes repeat them, which {@code promtool check metrics} rejects).
 */
final class Exposition {

    private Exposition() {}

    /** One family: its comment lines, then its samples by series (name and labels), in order. */
    private record Family(List<String> comments, Map<String, String> samples) {}

    /**
     * @param scrape an exposition
     * @param run a {@code run} label value (the agent's values have no quote or backslash)
     * @return the families of {@code scrape} restricted to the samples of that run; families left
     *     without samples are dropped
     */
    static String onlyRun(String scrape, String run) {
        Pattern ofRun = Pattern.compile("[{,]run=\"" + Pattern.quote(run) + "\"[,}]");
        Map<String, Family> families = parse(scrape);
        families.values().forEach(f -> f.samples().values().removeIf(line -> !ofRun.matcher(line).find()));
        families.values().removeIf(f -> f.samples().isEmpty());
        return render(families);
    }

    /**
     * @param expositions expositions of disjoint series (a series in several: the last one wins)
     * @return one exposition, each family once, its samples in the order given
     */
    static String merge(List<String> expositions) {
        Map<String, Family> all = new LinkedHashMap<>();
        for (String e : expositions) {
            parse(e).forEach((name, f) -> {
                Family into = all.computeIfAbsent(name, n -> new Family(f.comments(), new LinkedHashMap<>()));
                into.samples().putAll(f.samples());
            });
        }
        return render(all);
    }

    private static Map<String, Family> parse(String text) {
        Map<String, Family> families = new LinkedHashMap<>();
        Family current = null;
        String currentName = null;
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                String name = line.substring(7).split(" ", 2)[0];
                if (!name.equals(currentName)) {
                    currentName = name;
                    current = families.computeIfAbsent(name, n -> new Family(new ArrayList<>(), new LinkedHashMap<>()));
                }
                if (!current.comments().contains(line)) {
                    current.comments().add(line);
                }
            } else if (line.startsWith("#")) {
                continue; // other comments carry nothing a scraper reads
            } else {
                if (current == null) { // samples before any header: a family of their own
                    currentName = line.split("[{ ]", 2)[0];
                    current = families.computeIfAbsent(currentName,
                            n -> new Family(new ArrayList<>(), new LinkedHashMap<>()));
                }
                int value = line.lastIndexOf(' ');
                current.samples().put(value > 0 ? line.substring(0, value) : line, line);
            }
        }
        return families;
    }

    private static String render(Map<String, Family> families) {
        StringBuilder sb = new StringBuilder();
        for (Family f : families.values()) {
            f.comments().forEach(c -> sb.append(c).append('\n'));
            f.samples().values().forEach(s -> sb.append(s).append('\n'));
        }
        return sb.toString();
    }
}
