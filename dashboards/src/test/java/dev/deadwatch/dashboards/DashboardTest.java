package dev.deadwatch.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The dashboard's structure: identity, variables, panels, and the metric contract. */
class DashboardTest {

    @Test
    void hasAStableUidCurrentSchemaAndTheRunModelLayerVariables() throws IOException {
        JsonObject d = Dashboard.load();
        assertThat(d.get("uid").getAsString()).isEqualTo("deadwatch-overview");
        assertThat(d.get("schemaVersion").getAsInt()).isGreaterThanOrEqualTo(39);
        Map<String, JsonObject> vars = new java.util.LinkedHashMap<>();
        for (JsonElement v : d.getAsJsonObject("templating").getAsJsonArray("list")) {
            vars.put(v.getAsJsonObject().get("name").getAsString(), v.getAsJsonObject());
        }
        assertThat(vars.keySet()).containsExactly("datasource", "run", "model", "layer");
        assertThat(vars.get("run").get("definition").getAsString()).isEqualTo("label_values(deadwatch_info, run)");
        assertThat(vars.get("model").get("definition").getAsString()).contains("$run");
        assertThat(vars.get("layer").get("definition").getAsString()).contains("$run").contains("$model");
        for (String v : List.of("run", "model", "layer")) {
            assertThat(vars.get(v).get("includeAll").getAsBoolean()).as(v).isTrue();
            assertThat(vars.get(v).get("allValue").getAsString()).as(v).isEqualTo(".*");
        }
    }

    @Test
    void panelsHaveUniqueIdsFitTheGridAndEveryQueryIsFilteredByRunAndModel() throws IOException {
        JsonObject d = Dashboard.load();
        Set<Integer> ids = new HashSet<>();
        for (JsonElement e : d.getAsJsonArray("panels")) {
            JsonObject p = e.getAsJsonObject();
            assertThat(ids.add(p.get("id").getAsInt())).as("unique id %s", p.get("id")).isTrue();
            JsonObject g = p.getAsJsonObject("gridPos");
            assertThat(g.get("x").getAsInt() + g.get("w").getAsInt()).as(p.get("title").getAsString()).isLessThanOrEqualTo(24);
        }
        for (Dashboard.Query q : Dashboard.queries(d)) {
            assertThat(q.expr()).as(q.panel()).contains("run=~\"$run\"").contains("model=~\"$model\"");
        }
    }

    @Test
    void theContractIsDocsMetricsInThisRepositoryAndItsTableParses() throws IOException {
        Path repository = Repo.DASHBOARDS.getParent();
        assertThat(Repo.METRICS_CONTRACT).as("contract inside the repository")
                .startsWith(repository).isEqualTo(repository.resolve("docs/metrics.md")).isRegularFile();
        assertThat(Repo.contractNames()).as("names parsed from %s", Repo.METRICS_CONTRACT)
                .contains("deadwatch_info", "deadwatch_dead_directions", "deadwatch_train_loss",
                        "deadwatch_validation_loss", "deadwatch_regime_changes_total",
                        "deadwatch_reads_skipped_total", "deadwatch_read_seconds_count",
                        "deadwatch_read_seconds_sum", "deadwatch_read_seconds_max")
                .allSatisfy(n -> assertThat(n).matches("deadwatch_[a-z0-9_]+"));
    }

    @Test
    void everyQueryUsesContractNamesAndEveryContractSeriesIsOnTheDashboard() throws IOException {
        Set<String> contract = Repo.contractNames();
        Set<String> used = new LinkedHashSet<>();
        for (Dashboard.Query q : Dashboard.queries(Dashboard.load())) {
            for (String m : Repo.metricsIn(q.expr())) {
                assertThat(contract).as("%s uses %s", q.panel(), m).contains(m);
                used.add(m);
            }
        }
        Set<String> families = contract.stream().map(n -> n.replaceAll("_seconds_(count|sum|max)$", "_seconds"))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> usedFamilies = used.stream().map(n -> n.replaceAll("_seconds_(count|sum|max)$", "_seconds"))
                .collect(Collectors.toSet());
        assertThat(usedFamilies).as("contract series shown").containsAll(families);
    }

    @Test
    void showsWhatTheIssueAsksForAndAnnotatesRegimeChanges() throws IOException {
        JsonObject d = Dashboard.load();
        String titles = Dashboard.panels(d).stream().map(p -> p.get("title").getAsString())
                .collect(Collectors.joining("\n"));
        for (String t : List.of("accuracy", "loss", "Headline dead directions", "Order census", "Σ 1/(2k)",
                "Rayleigh", "alignment", "min |γ|", "log det⁺", "λ_min", "Effective rank", "slope",
                "Read time", "Training pause", "Skipped reads", "Structural directions", "Unresolved directions")) {
            assertThat(titles).as("a panel for %s", t).containsIgnoringCase(t);
        }
        assertThat(Dashboard.panels(d)).as("a state timeline of dead counts")
                .anySatisfy(p -> assertThat(p.get("type").getAsString()).isEqualTo("state-timeline"));
        JsonObject regime = null;
        for (JsonElement a : d.getAsJsonObject("annotations").getAsJsonArray("list")) {
            if (a.getAsJsonObject().has("expr")) {
                regime = a.getAsJsonObject();
            }
        }
        assertThat(regime).isNotNull();
        assertThat(regime.get("expr").getAsString()).contains("deadwatch_regime_changes_total").contains("> 0");
    }
}
