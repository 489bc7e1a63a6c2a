package dev.deadwatch.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** The alert rules: valid for promtool, every alert complete, fired and kept silent by its tests. */
class RuleFileTest {

    @Test
    void promtoolChecksTheRules() throws Exception {
        Repo.Run r = Repo.run(Repo.DASHBOARDS, Repo.tool("promtool"), "check", "rules", Repo.RULES.toString());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS: " + Repo.ALERTS.size() + " rules found");
    }

    @Test
    void promtoolRunsTheRuleTestsAndTheyPass() throws Exception {
        Repo.Run r = Repo.run(Repo.DASHBOARDS, Repo.tool("promtool"), "test", "rules", Repo.RULE_TESTS.toString());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS").doesNotContain("FAILED");
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAlertHasForSeverityAnnotationsAndARunbookSection() throws IOException {
        String runbook = Files.readString(Repo.RUNBOOK);
        Map<String, Map<String, Object>> alerts = alerts();
        assertThat(alerts.keySet()).containsExactlyInAnyOrderElementsOf(Repo.ALERTS);
        alerts.forEach((name, rule) -> {
            assertThat(rule.get("for")).as("%s for", name).isNotNull();
            Map<String, Object> labels = (Map<String, Object>) rule.get("labels");
            assertThat(labels.get("severity")).as("%s severity", name).isIn("info", "warning", "critical");
            Map<String, Object> ann = (Map<String, Object>) rule.get("annotations");
            assertThat((String) ann.get("summary")).as("%s summary is static", name).isNotBlank().doesNotContain("{{");
            assertThat((String) ann.get("description")).as("%s description is templated", name).contains("{{ $labels.");
            String url = (String) ann.get("runbook_url");
            String anchor = name.toLowerCase(java.util.Locale.ROOT);
            assertThat(url).as("%s runbook", name).endsWith("dashboards/RUNBOOK.md#" + anchor);
            assertThat(anchors(runbook)).as("runbook section for %s", name).contains(anchor);
            for (String metric : Repo.metricsIn((String) rule.get("expr"))) {
                try {
                    assertThat(Repo.contractNames()).as("%s uses contract metric %s", name, metric).contains(metric);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAlertHasANamedFiringCaseAndANamedSilentCase() throws IOException {
        Map<String, Object> tests;
        try (Reader r = Files.newBufferedReader(Repo.RULE_TESTS)) {
            tests = new Yaml().load(r);
        }
        Map<String, List<String>> firing = new LinkedHashMap<>();
        Map<String, List<String>> silent = new LinkedHashMap<>();
        for (Map<String, Object> t : (List<Map<String, Object>>) tests.get("tests")) {
            String testName = (String) t.get("name");
            assertThat(testName).as("every test case is named").isNotBlank();
            for (Map<String, Object> a : (List<Map<String, Object>>) t.get("alert_rule_test")) {
                List<?> expected = (List<?>) a.get("exp_alerts");
                (expected == null || expected.isEmpty() ? silent : firing)
                        .computeIfAbsent((String) a.get("alertname"), k -> new ArrayList<>()).add(testName);
            }
        }
        assertThat(firing.keySet()).as("alerts with a firing case").containsExactlyInAnyOrderElementsOf(Repo.ALERTS);
        assertThat(silent.keySet()).as("alerts with a silent case").containsExactlyInAnyOrderElementsOf(Repo.ALERTS);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> alerts() throws IOException {
        Map<String, Object> file;
        try (Reader r = Files.newBufferedReader(Repo.RULES)) {
            file = new Yaml().load(r);
        }
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Map<String, Object> g : (List<Map<String, Object>>) file.get("groups")) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) g.get("rules")) {
                out.put((String) rule.get("alert"), rule);
            }
        }
        return out;
    }

    /** @return the anchors GitHub generates for the runbook's second-level headings */
    static List<String> anchors(String markdown) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^## (\\S+)").matcher(markdown);
        while (m.find()) {
            out.add(m.group(1).toLowerCase(java.util.Locale.ROOT));
        }
        return out;
    }
}
