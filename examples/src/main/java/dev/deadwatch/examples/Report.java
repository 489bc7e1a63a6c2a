package dev.deadwatch.examples;

import dev.deadwatch.export.Json;
import dev.deadwatch.listener.TimelineRow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes a run report: {@code timeline.csv}, {@code timeline.json} and {@code chart.png}
 * (accuracy on top; per-layer dead counts and the orders read, then the structural and unresolved
 * directions, against step; optionally {@link Extras}: more columns and a fourth panel).
 */
public final class Report {

    private Report() {}

    /**
     * Reads the timeline does not carry: extra columns for {@code timeline.csv} and a fourth chart
     * panel.
     *
     * @param columns step → column → value, appended to the step's row (columns in first-seen
     *     order; a step without a value leaves the cell empty)
     * @param panelTitle the extra panel's title
     * @param panelAxis its y axis title
     * @param lines series name → step → value, drawn as lines (non-finite values skipped)
     * @param markers series name → step → value, drawn as markers
     */
    public record Extras(Map<Long, Map<String, String>> columns, String panelTitle, String panelAxis,
            Map<String, Map<Long, Double>> lines, Map<String, Map<Long, Double>> markers) {}

    /**
     * @param dir output folder (created)
     * @param title chart title
     * @param rows the monitor's timeline
     * @return the chart's path
     */
    public static Path write(Path dir, String title, List<TimelineRow> rows) throws IOException {
        return write(dir, title, rows, null);
    }

    /**
     * @param dir output folder (created)
     * @param title chart title
     * @param rows the monitor's timeline
     * @param extras extra columns and a fourth panel, or {@code null}
     * @return the chart's path
     */
    public static Path write(Path dir, String title, List<TimelineRow> rows, Extras extras) throws IOException {
        Files.createDirectories(dir);
        Map<Long, Map<String, String>> extra = extras == null ? Map.of() : extras.columns();
        Set<String> extraColumns = new LinkedHashSet<>();
        extra.values().forEach(m -> extraColumns.addAll(m.keySet()));
        TreeSet<String> layers = new TreeSet<>();
        rows.forEach(r -> layers.addAll(r.dead().keySet()));
        StringBuilder csv = new StringBuilder("step,train_loss,train_accuracy,validation_loss,validation_accuracy,regime_changes");
        for (String l : layers) {
            csv.append(",dead:").append(l).append(",structural:").append(l).append(",unresolved:").append(l)
                    .append(",orders:").append(l);
        }
        extraColumns.forEach(c -> csv.append(',').append(c));
        csv.append('\n');
        for (TimelineRow r : rows) {
            csv.append(String.format(Locale.ROOT, "%d,%s,%s,%s,%s,%d", r.step(), num(r.trainLoss()),
                    num(r.trainAccuracy()), num(r.validationLoss()), num(r.validationAccuracy()),
                    r.regimeChanges()));
            for (String l : layers) {
                csv.append(',').append(cell(r.dead().get(l))).append(',').append(cell(r.structural().get(l)))
                        .append(',').append(cell(r.unresolved().get(l)))
                        .append(",\"").append(r.orders().getOrDefault(l, "")).append('"');
            }
            Map<String, String> cells = extra.getOrDefault(r.step(), Map.of());
            extraColumns.forEach(c -> csv.append(",\"").append(cells.getOrDefault(c, "")).append('"'));
            csv.append('\n');
        }
        Files.writeString(dir.resolve("timeline.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("timeline.json"), Json.gson().toJson(rows), StandardCharsets.UTF_8);
        Path png = dir.resolve("chart.png");
        chart(title, rows, layers, extras, png);
        return png;
    }

    private static String cell(Integer v) {
        return v == null ? "" : v.toString();
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }

    private static void chart(String title, List<TimelineRow> rows, TreeSet<String> layers, Extras extras,
            Path png) throws IOException {
        double[] steps = rows.stream().mapToDouble(TimelineRow::step).toArray();
        XYChart acc = new XYChartBuilder().width(1000).height(380).title(title)
                .xAxisTitle("step").yAxisTitle("accuracy / loss").build();
        style(acc);
        boolean hasAcc = rows.stream().anyMatch(r -> !Double.isNaN(r.trainAccuracy()));
        if (hasAcc) {
            add(acc, "train accuracy", steps, rows.stream().mapToDouble(TimelineRow::trainAccuracy).toArray());
            add(acc, "validation accuracy", steps, rows.stream().mapToDouble(TimelineRow::validationAccuracy).toArray());
        } else {
            acc.setYAxisTitle("loss (log10)");
            add(acc, "train loss (log10)", steps, rows.stream().mapToDouble(r -> Math.log10(r.trainLoss())).toArray());
            add(acc, "validation loss (log10)", steps, rows.stream().mapToDouble(r -> Math.log10(r.validationLoss())).toArray());
        }
        XYChart dead = new XYChartBuilder().width(1000).height(380).title("dead directions per layer (activation side) and orders read")
                .xAxisTitle("step").yAxisTitle("headline dead count").build();
        style(dead);
        for (String l : layers) {
            add(dead, l, steps, rows.stream().mapToDouble(r -> r.dead().getOrDefault(l, -1) < 0
                    ? Double.NaN : r.dead().get(l)).toArray());
        }
        List<Double> os = new ArrayList<>();
        List<Double> ov = new ArrayList<>();
        for (TimelineRow r : rows) {
            for (String l : r.orders().keySet()) {
                for (String k : r.orders().get(l).split(",")) {
                    if (!k.isBlank()) {
                        os.add((double) r.step());
                        ov.add(Double.parseDouble(k));
                    }
                }
            }
        }
        if (!os.isEmpty()) {
            XYSeries s = dead.addSeries("order k of dead directions read",
                    os.stream().mapToDouble(Double::doubleValue).toArray(),
                    ov.stream().mapToDouble(Double::doubleValue).toArray());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            s.setMarker(SeriesMarkers.DIAMOND);
        }
        XYChart structure = new XYChartBuilder().width(1000).height(300)
                .title("not deaths: structural (solid) and unresolved (dashed) directions per layer")
                .xAxisTitle("step").yAxisTitle("directions").build();
        style(structure);
        for (String l : layers) {
            add(structure, l + " structural", steps, rows.stream()
                    .mapToDouble(r -> r.structural().containsKey(l) ? r.structural().get(l) : Double.NaN).toArray());
            if (rows.stream().anyMatch(r -> r.unresolved().getOrDefault(l, 0) > 0)) {
                XYSeries u = add(structure, l + " unresolved", steps, rows.stream()
                        .mapToDouble(r -> r.unresolved().containsKey(l) ? r.unresolved().get(l) : Double.NaN).toArray());
                if (u != null) {
                    u.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
                }
            }
        }
        List<org.knowm.xchart.internal.chartpart.Chart<?, ?>> charts = new ArrayList<>(List.of(acc, dead, structure));
        if (extras != null && !(extras.lines().isEmpty() && extras.markers().isEmpty())) {
            XYChart panel = new XYChartBuilder().width(1000).height(300).title(extras.panelTitle())
                    .xAxisTitle("step").yAxisTitle(extras.panelAxis()).build();
            style(panel);
            extras.lines().forEach((name, v) -> add(panel, name, series(v, 0), series(v, 1)));
            extras.markers().forEach((name, v) -> {
                XYSeries s = add(panel, name, series(v, 0), series(v, 1));
                if (s != null) {
                    s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
                    s.setMarker(SeriesMarkers.DIAMOND);
                }
            });
            charts.add(panel);
        }
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** @return the steps ({@code which} 0) or the values (1) of a step → value map, in step order */
    private static double[] series(Map<Long, Double> v, int which) {
        return new TreeMap<>(v).entrySet().stream()
                .mapToDouble(e -> which == 0 ? e.getKey() : e.getValue()).toArray();
    }

    private static void style(XYChart c) {
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setMarkerSize(4);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    }

    /** @return the series, or {@code null} when it has no finite point (not added) */
    private static XYSeries add(XYChart c, String name, double[] x, double[] y) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(y[i])) {
                xs.add(x[i]);
                ys.add(y[i]);
            }
        }
        if (xs.isEmpty()) {
            return null;
        }
        XYSeries s = c.addSeries(name, xs.stream().mapToDouble(Double::doubleValue).toArray(),
                ys.stream().mapToDouble(Double::doubleValue).toArray());
        s.setMarker(SeriesMarkers.NONE);
        return s;
    }
}
