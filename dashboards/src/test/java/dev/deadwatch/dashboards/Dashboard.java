package dev.deadwatch.dashboards;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** The dashboard JSON, and its panels' queries. */
final class Dashboard {

    /** One query of one panel. */
    record Query(String panel, String type, String expr) {}

    private Dashboard() {}

    static JsonObject load() throws IOException {
        return JsonParser.parseString(Files.readString(Repo.DASHBOARD)).getAsJsonObject();
    }

    /** @return every panel that is not a row, rows' nested panels included */
    static List<JsonObject> panels(JsonObject dashboard) {
        List<JsonObject> out = new ArrayList<>();
        for (JsonElement e : dashboard.getAsJsonArray("panels")) {
            JsonObject p = e.getAsJsonObject();
            if ("row".equals(p.get("type").getAsString())) {
                if (p.has("panels")) {
                    p.getAsJsonArray("panels").forEach(n -> out.add(n.getAsJsonObject()));
                }
            } else {
                out.add(p);
            }
        }
        return out;
    }

    static List<Query> queries(JsonObject dashboard) {
        List<Query> out = new ArrayList<>();
        for (JsonObject p : panels(dashboard)) {
            JsonArray targets = p.getAsJsonArray("targets");
            if (targets == null) {
                continue;
            }
            for (JsonElement t : targets) {
                out.add(new Query(p.get("title").getAsString(), p.get("type").getAsString(),
                        t.getAsJsonObject().get("expr").getAsString()));
            }
        }
        return out;
    }

    /**
     * Substitutes the dashboard's variables and Grafana's interval macros as Grafana would.
     *
     * @param expr a panel query
     * @param runs regex of the runs selected
     * @return the query Prometheus receives
     */
    static String substitute(String expr, String runs) {
        return expr.replace("$run", runs).replace("$model", ".*").replace("$layer", ".*")
                .replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h");
    }
}
