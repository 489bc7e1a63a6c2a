package dev.deadwatch.examples;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deadwatch bench}: the benchmark harness. Measures the monitor's training overhead
 * (interleaved A/B on the grokking example), each read's cost against width and depth with its
 * fitted growth exponent, and the DDS reads against the SGLD learning-coefficient estimator on
 * reduced-rank-regression checkpoints with a known λ, and a full read of all-MiniLM-L6-v2 with each
 * eigensolver; writes {@code BENCHMARKS.md}. Each section is written by its own class
 * ({@link OverheadBench}, {@link ReadGrowthBench}, {@link DdsVersusSgldBench},
 * {@link MiniLmReadBench}); the statistics they share are here. A section run alone
 * ({@code --only}) replaces its namesake in an existing report ({@link #splice}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run the benchmarks (overhead, read-cost growth, DDS vs SGLD, a full read of MiniLM by eigensolver) and write BENCHMARKS.md.")
public final class BenchCommand implements Callable<Integer> {


    @Spec
    private CommandSpec spec;

    @Option(names = "--out", defaultValue = "BENCHMARKS.md", description = "Report file (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--repeats", defaultValue = "5", description = "Timed repeats per measurement (default: ${DEFAULT-VALUE}).")
    private int repeats;

    @Option(names = "--overhead-pairs", defaultValue = "10", description = "A/B pairs of the overhead runs (default: ${DEFAULT-VALUE}).")
    private int pairs;

    @Option(names = "--overhead-steps", defaultValue = "2000", description = "Steps per overhead run (default: ${DEFAULT-VALUE}).")
    private int overheadSteps;

    @Option(names = "--only", description = "Run one part only: overhead, growth, sgld, minilm or pauses (default: all); its section "
            + "replaces the one of the same heading in the report file, the others kept.")
    private String only;

    @Option(names = "--minilm-repeats", defaultValue = "3", description = "Timed repeats of the MiniLM section, each "
            + "eigensolver once per repeat (default: ${DEFAULT-VALUE}).")
    private int minilmRepeats;

    @Option(names = "--pause-steps", defaultValue = "24", description = "Training steps per run of the pauses section (default: ${DEFAULT-VALUE}).")
    private int pauseSteps;

    @Option(names = "--sgld-epsilon", defaultValue = "5e-4", description = "SGLD step ε (default: ${DEFAULT-VALUE}).")
    private double epsilon;

    @Option(names = "--sgld-gamma", defaultValue = "10", description = "SGLD localization γ (default: ${DEFAULT-VALUE}).")
    private double gamma;

    @Option(names = "--sgld-steps", defaultValue = "100", description = "SGLD burn-in steps and draws per chain (default: ${DEFAULT-VALUE}).")
    private int sgldSteps;

    /** Probe samples of the read-cost and DDS-against-SGLD sections. */
    static final int PROBE = 256;
    /** The sections, as {@code --only} names them. */
    static final List<String> SECTIONS = List.of("overhead", "growth", "sgld", "minilm", "pauses");

    /**
     * Puts a section run alone into an existing report: it replaces the section of the same
     * {@code ## } heading (up to the next {@code ## } heading or the end), or is appended; the
     * note goes under its heading.
     *
     * @param report the existing report
     * @param section the new section, starting with its {@code ## } heading line
     * @param note a paragraph saying when and how the section was run
     * @return the report with the section in place
     * @throws IllegalArgumentException if {@code section} does not start with a {@code ## } heading
     */
    static String splice(String report, String section, String note) {
        if (!section.startsWith("## ")) {
            throw new IllegalArgumentException("a section starts with its '## ' heading, got: "
                    + section.substring(0, Math.min(40, section.length())));
        }
        int eol = section.indexOf('\n');
        String heading = eol < 0 ? section : section.substring(0, eol);
        String body = eol < 0 ? "" : section.substring(eol + 1).replaceFirst("^\n+", "");
        String placed = (heading + "\n\n" + note + body).replaceFirst("\\s+$", "") + "\n";
        int at = report.startsWith(heading + "\n") ? 0 : report.indexOf("\n" + heading + "\n");
        if (at < 0) {
            return (report.endsWith("\n\n") ? report : report.endsWith("\n") ? report + "\n" : report + "\n\n") + placed;
        }
        int start = at == 0 ? 0 : at + 1;
        int next = report.indexOf("\n## ", start + heading.length());
        String tail = next < 0 ? "" : "\n" + report.substring(next + 1);
        return report.substring(0, start) + placed + tail;
    }

    @Override
    public Integer call() throws Exception {
        if (repeats < 1 || pairs < 1 || overheadSteps < 100 || minilmRepeats < 1) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "need --repeats >= 1, --overhead-pairs >= 1, --overhead-steps >= 100, --minilm-repeats >= 1; got "
                            + repeats + ", " + pairs + ", " + overheadSteps + ", " + minilmRepeats);
        }
        if (only != null && !SECTIONS.contains(only)) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--only must be one of " + SECTIONS + ", got '" + only + "'");
        }
        StringBuilder md = new StringBuilder();
        // the command line as given (picocli keeps the whole of it, the subcommand's name included)
        String command = spec == null ? "" : String.join(" ", spec.commandLine().getParseResult().originalArgs());
        command = command.startsWith("bench") ? command : ("bench " + command).trim();
        String machine = String.format(Locale.ROOT, "Machine: %s, %d cores, %s, Java %s.", cpuModel(),
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                System.getProperty("java.version"));
        if (only == null || !Files.exists(out)) {
            md.append("# deadwatch benchmarks\n\n");
            md.append(String.format(Locale.ROOT, "Written by `./deadwatch %s` on %s. %s%n%n", command, LocalDate.now(), machine));
            md.append("Every number is a median over repeats with its range `[min..max]`; every comparison is a ratio\n"
                    + "measured inside one run (interleaved A/B for the overhead).\n\n");
        }
        if (only == null || only.equals("overhead")) {
            new OverheadBench(pairs, overheadSteps).write(md);
        }
        if (only == null || only.equals("growth")) {
            new ReadGrowthBench(repeats).write(md);
        }
        if (only == null || only.equals("sgld")) {
            new DdsVersusSgldBench(repeats, epsilon, gamma, sgldSteps).write(md);
        }
        if (only == null || only.equals("minilm")) {
            new MiniLmReadBench(minilmRepeats).write(md);
        }
        if (only == null || only.equals("pauses")) {
            new PauseMemoryBench(pauseSteps, Math.min(repeats, 3)).write(md);
        }
        String report = md.toString();
        if (only != null && Files.exists(out)) {
            String note = String.format(Locale.ROOT, "This section run alone by `./deadwatch %s` on %s. %s%n%n", command,
                    LocalDate.now(), machine);
            report = splice(Files.readString(out, StandardCharsets.UTF_8), report, note);
        }
        Files.writeString(out, report, StandardCharsets.UTF_8);
        System.out.println("wrote " + out.toAbsolutePath());
        return 0;
    }

    // ------------------------------------------------------------------ statistics

    static double median(List<Double> v) {
        return OverheadCommand.median(v);
    }

    static String stat(List<Double> v, String fmt, double scale) {
        return OverheadCommand.stat(v, fmt, scale);
    }

    /** Whether a timing is a measurement (NaN: e.g. no order-read candidate at that size). */
    private static boolean isMeasured(double y) {
        return Double.isFinite(y) && y > 0;
    }

    /** @return the sizes with a measurement, e.g. "128, 256, 512, 1024" */
    static String measured(int[] x, double[] y) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (isMeasured(y[i])) {
                out.add(Integer.toString(x[i]));
            }
        }
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    /** Least-squares slope of log y against log x over the sizes with a measurement; NaN below two. */
    static double slope(int[] x, double[] y) {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (isMeasured(y[i])) {
                pts.add(new double[] {Math.log(x[i]), Math.log(y[i])});
            }
        }
        int n = pts.size();
        if (n < 2) {
            return Double.NaN;
        }
        double mx = 0;
        double my = 0;
        for (double[] p : pts) {
            mx += p[0] / n;
            my += p[1] / n;
        }
        double sxy = 0;
        double sxx = 0;
        for (double[] p : pts) {
            sxy += (p[0] - mx) * (p[1] - my);
            sxx += (p[0] - mx) * (p[0] - mx);
        }
        return sxy / sxx;
    }

    /** Spearman rank correlation (average ranks for ties). */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a);
        double[] rb = ranks(b);
        double ma = Arrays.stream(ra).average().orElse(0);
        double mb = Arrays.stream(rb).average().orElse(0);
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    static double[] ranks(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int less = 0;
            int equal = 0;
            for (double w : v) {
                if (w < v[i]) {
                    less++;
                } else if (w == v[i]) {
                    equal++;
                }
            }
            r[i] = less + (equal + 1) / 2.0;
        }
        return r;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return ManagementFactory.getOperatingSystemMXBean().getArch();
    }
}
