package dev.deadwatch.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/** The chart, linted strictly and rendered with the default and the all-toggles-on values. */
class HelmChartTest {

    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path CHART = MODULE.resolve("deadwatch");
    static final Path ALL_ON = MODULE.resolve("ci/all-on-values.yaml");
    static final Path DASHBOARDS = MODULE.resolve("../dashboards").normalize();
    static final String IMAGE = "registry.example.com/ml/train";

    @TempDir
    Path tmp;

    @Test
    void lintsStrictlyCleanWithDefaultValues() {
        LintResult r = new Helm(CHART).lint().strict().call();
        assertThat(r.isFailed()).as(String.join("\n", r.getMessages())).isFalse();
        assertThat(r.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
    }

    @Test
    void lintsStrictlyCleanWithEveryToggleOn() throws IOException {
        // helm lint takes no values file here: lint a copy of the chart whose values are the all-on set
        Path copy = copyChart(tmp.resolve("deadwatch"));
        Files.writeString(copy.resolve("values.yaml"), mergedAllOnValues());
        LintResult r = new Helm(copy).lint().strict().call();
        assertThat(r.isFailed()).as(String.join("\n", r.getMessages())).isFalse();
        assertThat(r.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
    }

    @Test
    void defaultValuesRenderAJobAndItsServiceWithTheAgentHardenedAndLimited() {
        List<Map<String, Object>> objects = render(template()
                .set("image.repository", IMAGE));
        assertThat(kinds(objects)).containsExactlyInAnyOrder("Job", "Service");
        Map<String, Object> job = only(objects, "Job");
        Map<String, Object> pod = map(map(map(job, "spec"), "template"), "spec");
        assertThat(pod.get("restartPolicy")).isEqualTo("Never");
        assertThat(map(pod, "securityContext")).containsEntry("runAsNonRoot", true).containsEntry("runAsUser", 10001);
        Map<String, Object> c = list(pod, "containers").get(0);
        assertThat(c.get("image")).isEqualTo(IMAGE + ":0.1.0");
        assertThat(map(c, "securityContext")).containsEntry("readOnlyRootFilesystem", true)
                .containsEntry("allowPrivilegeEscalation", false);
        assertThat(map(map(c, "resources"), "limits")).containsEntry("cpu", "2").containsEntry("memory", "4Gi");
        assertThat(env(c, "JAVA_TOOL_OPTIONS")).isEqualTo("-javaagent:/opt/deadwatch/deadwatch-agent.jar="
                + "port=9400,host=0.0.0.0,every=50,order=5,budget=0.05,probe=0,fisher=true,copies=true,run=grok"
                + " -Dai.djl.offline=true");
        assertThat(env(c, "DJL_CACHE_DIR")).isEqualTo("/tmp/djl");
        assertThat(list(c, "ports").get(0)).containsEntry("containerPort", 9400).containsEntry("name", "metrics");
        Map<String, Object> svc = only(objects, "Service");
        assertThat(list(map(svc, "spec"), "ports").get(0)).containsEntry("port", 9400).containsEntry("targetPort", "metrics");
        assertThat(map(map(svc, "spec"), "selector")).isEqualTo(map(map(map(map(job, "spec"), "template"), "metadata"), "labels")
                .entrySet().stream().filter(e -> map(map(svc, "spec"), "selector").containsKey(e.getKey()))
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyToggleOnRendersMonitorsRulesAndDashboardsReadFromTheRepository() throws IOException {
        List<Map<String, Object>> objects = render(template().withValuesFile(ALL_ON));
        assertThat(kinds(objects)).containsExactlyInAnyOrder("Deployment", "Service", "ServiceAccount", "PodMonitor",
                "ServiceMonitor", "PrometheusRule", "ConfigMap");

        // the rules are the repository's rule file, parsed equal
        Map<String, Object> rule = only(objects, "PrometheusRule");
        Map<String, Object> source;
        try (Reader r = Files.newBufferedReader(DASHBOARDS.resolve("deadwatch-alerts.yaml"))) {
            source = new Yaml().load(r);
        }
        assertThat(map(rule, "spec")).isEqualTo(source);
        assertThat(map(map(rule, "metadata"), "labels")).containsEntry("release", "prometheus");

        // the dashboard ConfigMap carries the sidecar label and the repository's JSON byte for byte
        Map<String, Object> cm = only(objects, "ConfigMap");
        assertThat(map(map(cm, "metadata"), "labels")).containsEntry("grafana_dashboard", "1");
        assertThat(map(map(cm, "metadata"), "annotations")).containsEntry("grafana_folder", "deadwatch");
        String json = Files.readString(DASHBOARDS.resolve("deadwatch-overview.json"));
        assertThat((String) map(cm, "data").get("deadwatch-overview.json")).isEqualTo(json.strip());

        // the agent comes from its own image through an init container, with the values' arguments
        Map<String, Object> pod = map(map(map(only(objects, "Deployment"), "spec"), "template"), "spec");
        Map<String, Object> init = list(pod, "initContainers").get(0);
        assertThat(init.get("image")).isEqualTo("registry.example.com/deadwatch/agent:0.1.0");
        assertThat((List<String>) init.get("command")).containsExactly("cp", "/deadwatch-agent.jar",
                "/deadwatch/agent/deadwatch-agent.jar");
        Map<String, Object> c = list(pod, "containers").get(0);
        assertThat(env(c, "JAVA_TOOL_OPTIONS")).isEqualTo("-javaagent:/deadwatch/agent/deadwatch-agent.jar="
                + "port=9500,host=0.0.0.0,every=100,order=10,budget=0.03,probe=128,fisher=false,copies=false,run=nightly"
                + " -Dai.djl.offline=true");
        assertThat(env(c, "TRAIN_SEED")).isEqualTo("7");
        assertThat((List<String>) c.get("command")).containsExactly("java", "-jar", "/app/train.jar");
        assertThat(pod.get("serviceAccountName")).isEqualTo("grok-deadwatch");
        assertThat(list(map(only(objects, "PodMonitor"), "spec"), "podMetricsEndpoints").get(0))
                .containsEntry("port", "metrics").containsEntry("interval", "30s");
        assertThat(list(map(only(objects, "ServiceMonitor"), "spec"), "endpoints").get(0))
                .containsEntry("port", "metrics").containsEntry("path", "/metrics");
    }

    @Test
    void missingImageAndUnknownWorkloadKindFailWithAMessageNamingTheValue() {
        assertThatThrownBy(() -> template().call())
                .hasMessageContaining("image.repository is required");
        assertThatThrownBy(() -> template().set("image.repository", IMAGE)
                .set("workload.kind", "CronJob").call())
                .hasMessageContaining("workload.kind must be Job or Deployment, got \"CronJob\"");
    }

    @Test
    void theAgentOffRendersNoMetricsObjectsAndNoJavaagent() {
        List<Map<String, Object>> objects = render(template()
                .set("image.repository", IMAGE).set("agent.enabled", false).set("metrics.podMonitor.enabled", true));
        assertThat(kinds(objects)).containsExactly("Job");
        Map<String, Object> c = list(map(map(map(only(objects, "Job"), "spec"), "template"), "spec"), "containers").get(0);
        assertThat(env(c, "JAVA_TOOL_OPTIONS")).isNull();
    }

    // ------------------------------------------------------------------ helpers

    /** A cluster version the chart supports (helm-java's offline default is older). */
    static final String KUBE_VERSION = "1.30.0";

    private static com.marcnuri.helm.TemplateCommand template() {
        return new Helm(CHART).template().withName("grok").withKubeVersion(KUBE_VERSION);
    }

    /** @return the chart's default values with the all-on values merged over them */
    @SuppressWarnings("unchecked")
    private static String mergedAllOnValues() throws IOException {
        Map<String, Object> base;
        Map<String, Object> over;
        try (Reader a = Files.newBufferedReader(CHART.resolve("values.yaml"));
                Reader b = Files.newBufferedReader(ALL_ON)) {
            base = new Yaml().load(a);
            over = new Yaml().load(b);
        }
        merge(base, over);
        return new Yaml().dump(base);
    }

    @SuppressWarnings("unchecked")
    private static void merge(Map<String, Object> base, Map<String, Object> over) {
        over.forEach((k, v) -> {
            if (v instanceof Map && base.get(k) instanceof Map) {
                merge((Map<String, Object>) base.get(k), (Map<String, Object>) v);
            } else {
                base.put(k, v);
            }
        });
    }

    private static List<Map<String, Object>> render(com.marcnuri.helm.TemplateCommand command) {
        String yaml = command.call();
        List<Map<String, Object>> out = new ArrayList<>();
        LoaderOptions options = new LoaderOptions();
        for (Object doc : new Yaml(options).loadAll(yaml)) {
            if (doc != null) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) doc;
                out.add(m);
            }
        }
        return out;
    }

    private static List<String> kinds(List<Map<String, Object>> objects) {
        return objects.stream().map(o -> (String) o.get("kind")).toList();
    }

    private static Map<String, Object> only(List<Map<String, Object>> objects, String kind) {
        List<Map<String, Object>> found = objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
        assertThat(found).as("one %s", kind).hasSize(1);
        return found.get(0);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key).isInstanceOf(Map.class);
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key).isInstanceOf(List.class);
        return (List<Map<String, Object>>) v;
    }

    private static String env(Map<String, Object> container, String name) {
        for (Map<String, Object> e : list(container, "env")) {
            if (name.equals(e.get("name"))) {
                return (String) e.get("value");
            }
        }
        return null;
    }

    /** Copies the chart, following its dashboards link, honouring nothing but the chart files. */
    private static Path copyChart(Path to) throws IOException {
        try (Stream<Path> files = Files.walk(CHART, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path rel = CHART.relativize(p);
                if (rel.startsWith("dashboards/src") || rel.startsWith("dashboards/target")) {
                    continue;
                }
                Path dest = to.resolve(rel.toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return to;
    }
}
