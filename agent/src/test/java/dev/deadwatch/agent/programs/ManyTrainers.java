package dev.deadwatch.agent.programs;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A DJL program with no deadwatch code that trains several models one after another, each with its
 * own {@code Trainer}, closed when done: what the agent's multi-trainer test runs under the agent.
 * After each training (trainer still open) it scrapes {@code 127.0.0.1:<port>/metrics} and prints
 * the {@code run} labels it found; after the first trainer is closed and after the last it prints
 * the JVM's live threads and open file descriptors.
 * {@code ManyTrainers <trainers> <port>}.
 */
public final class ManyTrainers {

    private static final Pattern RUN = Pattern.compile("^deadwatch_info\\{(?:[^\n]*,)?run=\"([^\"]+)\"", Pattern.MULTILINE);

    private ManyTrainers() {}

    /** @param args the number of trainers and the port to scrape */
    public static void main(String[] args) throws Exception {
        int trainers = Integer.parseInt(args[0]);
        int port = Integer.parseInt(args[1]);
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(5);
            NDArray x = m.randomNormal(0, 1, new Shape(64, 6), DataType.FLOAT32);
            NDArray y = x.get(":, 0:2").mul(3);
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(16, true).build();
            for (int i = 0; i < trainers; i++) {
                try (Model model = Model.newInstance("many")) {
                    model.setBlock(new SequentialBlock().add(Linear.builder().setUnits(8).build())
                            .add(Activation.tanhBlock()).add(Linear.builder().setUnits(2).build()));
                    DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.l2Loss())
                            .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f)).build());
                    try (Trainer trainer = model.newTrainer(cfg)) {
                        trainer.initialize(new Shape(16, 6));
                        EasyTrain.fit(trainer, 2, data, null);
                        String body = scrape(port);
                        Set<String> runs = runs(body);
                        System.out.println("trainer " + i + " scrape runs " + runs);
                        if (runs.isEmpty()) { // what the endpoint answered instead, for the test's message
                            System.err.println("trainer " + i + " scrape: " + body.substring(0, Math.min(600, body.length())));
                        }
                    }
                }
                if (i == 0 || i == trainers - 1) {
                    System.out.println((i == 0 ? "baseline" : "after") + " threads " + threads() + " fds " + fds());
                }
            }
        }
        System.out.println("ManyTrainers: done");
    }

    /** {@code GET /metrics} over HTTP/1.0 on a plain socket: nothing pooled, nothing left open. */
    static String scrape(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Set<String> runs(String scrape) {
        Set<String> runs = new TreeSet<>();
        Matcher matcher = RUN.matcher(scrape);
        while (matcher.find()) {
            runs.add(matcher.group(1));
        }
        return runs;
    }

    static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    static long fds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
