package dev.deadwatch.bench;

import dev.deadwatch.capture.EngineScalar;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import dev.deadwatch.capture.ParameterState;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The peer method: the local learning coefficient estimated by localized SGLD, as the field
 * estimates it today (devinterp; read from its {@code optim/sgld.py}, {@code slt/sampler.py} and
 * {@code slt/llc.py} in the repository timaeus-research/devinterp): {@code λ̂ = nβ (E_w[L(w)] − L(w*))}
 * with {@code nβ = n / log n}, the expectation over the draws of chains sampling
 * {@code exp(−nβ L(w) − γ/2 ‖w − w*‖²)} with the update
 * {@code w ← w − ε/2 (nβ ∇L_m(w) + γ (w − w*)) + N(0, ε)} on minibatches of size m, each chain from
 * {@code w*}; {@code L(w*)} is the full-batch loss at the checkpoint, a draw's loss is that of the
 * step's batch before its update.
 *
 * <p>The loss {@code L} is devinterp's by default: the mean squared error over samples and outputs
 * ({@link Loss#MEAN_SQUARED_ERROR}). {@link Loss#GAUSSIAN_NLL} is the unit-variance Gaussian
 * negative log-likelihood {@code ½‖y − f(x)‖²} per sample, {@code N/2} times the former for N
 * outputs (the two coincide at N = 2): at one ε and nβ it samples a colder posterior in a
 * steeper landscape, so the same settings give another λ̂ (on devinterp's reduced-rank-regression
 * check with equilibrated chains, {@link RrrAccuracy}, 6 % above λ on average and up to 40 % above,
 * where the MSE gives 5 % below and at most 29 % off).
 *
 * <p>Equilibration: a chain starts at {@code w*}, where the loss is smallest, and its loss rises to
 * the posterior mean over about {@code 2 / (ε nβ h)} steps ({@code h} the loss's curvature along
 * its stiff directions). Draws taken in that transient pull λ̂ down: on devinterp's own
 * reduced-rank-regression check (ε = 6e-5, 2000 draws, no burn-in) λ̂ lands 25 % below λ on
 * average, up to 50 %. Give a burn-in of at least the draws (devinterp's sampler warns below that).
 *
 * <p>Forward and backward passes are counted: they are the cost deadwatch's spectral reads are
 * compared against. The parameters are restored bit-exactly afterwards, and their gradients too.
 * Parameters without a gradient get one attached (so run it on a replica or an offline checkpoint,
 * not between the steps of a live trainer). This is an offline read, not part of the live
 * monitor's default reads.
 */
public final class LlcRead {

    /** The loss {@code L} whose tempered posterior the chains sample. */
    public enum Loss {
        /** devinterp's {@code evaluate_mse}: the mean of {@code (y − f(x))²} over samples and outputs. */
        MEAN_SQUARED_ERROR,
        /** {@code ½‖y − f(x)‖²} averaged over samples: the unit-variance Gaussian negative log-likelihood. */
        GAUSSIAN_NLL
    }

    /**
     * SGLD settings.
     *
     * @param chains independent chains
     * @param burnIn steps per chain before draws are recorded
     * @param draws recorded steps per chain (devinterp's default is 100)
     * @param stepSize ε
     * @param localization γ
     * @param batchSize minibatch size m ({@code <= 0}: full batch)
     * @param seed seed of minibatches and noise
     * @param loss the loss {@code L}
     */
    public record Config(int chains, int burnIn, int draws, double stepSize, double localization, int batchSize,
            long seed, Loss loss) {
        /** Validates. */
        public Config {
            Objects.requireNonNull(loss, "loss");
            if (chains < 1 || burnIn < 0 || draws < 1) {
                throw new IllegalArgumentException("need chains >= 1, burnIn >= 0, draws >= 1; got "
                        + chains + ", " + burnIn + ", " + draws);
            }
            if (!(stepSize > 0) || !Double.isFinite(stepSize)) {
                throw new IllegalArgumentException("stepSize must be positive and finite, got " + stepSize);
            }
            if (!(localization >= 0) || !Double.isFinite(localization)) {
                throw new IllegalArgumentException("localization must be >= 0 and finite, got " + localization);
            }
        }

        /** Settings with devinterp's loss, {@link Loss#MEAN_SQUARED_ERROR}. */
        public Config(int chains, int burnIn, int draws, double stepSize, double localization, int batchSize, long seed) {
            this(chains, burnIn, draws, stepSize, localization, batchSize, seed, Loss.MEAN_SQUARED_ERROR);
        }

        /** @return devinterp-like defaults: 4 chains, 100 burn-in, 100 draws, ε 1e-3, γ 100, m 64, MSE */
        public static Config defaults() {
            return new Config(4, 100, 100, 1e-3, 100, 64, 0);
        }
    }

    /**
     * @param lambdaHat the estimate λ̂ (mean over chains)
     * @param standardError standard error over chains ({@code NaN} with one chain)
     * @param chainLambdas λ̂ of each chain
     * @param lossAtOptimum {@code L(w*)}
     * @param forwardPasses forward passes on the engine (minibatch or full batch)
     * @param backwardPasses backward passes on the engine
     * @param seconds wall time
     */
    public record Result(double lambdaHat, double standardError, double[] chainLambdas, double lossAtOptimum,
            long forwardPasses, long backwardPasses, double seconds) {
        /** @return forward plus backward passes */
        public long enginePasses() {
            return forwardPasses + backwardPasses;
        }
    }

    /**
     * Estimates the local learning coefficient of {@code block} at its current parameters.
     *
     * @param block the model at the checkpoint {@code w*}
     * @param x inputs, first axis the n samples
     * @param y targets, same first axis
     * @param config SGLD settings
     * @return the estimate and its cost
     */
    public Result read(Block block, NDArray x, NDArray y, Config config) {
        Objects.requireNonNull(config, "config");
        long n = x.getShape().get(0);
        if (n < 2 || y.getShape().get(0) != n) {
            throw new IllegalArgumentException("need n >= 2 samples with one target each, got x " + x.getShape()
                    + " and y " + y.getShape());
        }
        long t0 = System.nanoTime();
        double nBeta = n / Math.log(n);
        List<Parameter> params = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            params.add(p.getValue());
        }
        ParameterState saved = ParameterState.save(params);
        List<double[]> savedGrads = new ArrayList<>();
        for (Parameter p : params) {
            NDArray a = p.getArray();
            if (!a.hasGradient()) {
                a.setRequiresGradient(true);
            }
            try (NDArray g = a.getGradient()) { // each call registers a new array in the parameter's manager
                savedGrads.add(ParameterState.toDoubles(g));
            }
        }
        List<double[]> wStar = new ArrayList<>();
        for (Parameter p : params) {
            wStar.add(ParameterState.toDoubles(p.getArray()));
        }
        long[] passes = new long[2];
        int m = config.batchSize() <= 0 || config.batchSize() >= n ? (int) n : config.batchSize();
        try (NDManager scope = x.getManager().newSubManager()) {
            double loss0 = loss(block, x, y, config.loss(), scope, passes);
            SplittableRandom rng = new SplittableRandom(config.seed());
            double sqrtEps = Math.sqrt(config.stepSize());
            double[] chainLambdas = new double[config.chains()];
            for (int c = 0; c < config.chains(); c++) {
                saved.restore();
                // the chain's state, kept here: it is what the parameters hold after each write
                List<double[]> w = new ArrayList<>(params.size());
                for (double[] ws : wStar) {
                    w.add(ws.clone());
                }
                double sum = 0;
                for (int t = 0; t < config.burnIn() + config.draws(); t++) {
                    double batchLoss;
                    List<double[]> grads = new ArrayList<>(params.size());
                    try (NDManager s = scope.newSubManager()) {
                        // views owned by this step's manager, so the forward's arrays are freed with it
                        NDArray xb = x.get(":");
                        NDArray yb = y.get(":");
                        xb.attach(s);
                        yb.attach(s);
                        if (m < n) {
                            long[] idx = new long[m];
                            for (int i = 0; i < m; i++) {
                                idx[i] = rng.nextLong(n);
                            }
                            NDArray index = s.create(idx);
                            xb = x.get(index);
                            yb = y.get(index);
                            xb.attach(s);
                            yb.attach(s);
                        }
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray l = loss(block, xb, yb, config.loss(), s, true);
                            passes[0]++;
                            gc.backward(l);
                            passes[1]++;
                            batchLoss = l.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
                        }
                        for (Parameter p : params) {
                            try (NDArray g = p.getArray().getGradient()) {
                                grads.add(ParameterState.toDoubles(g));
                                ParameterState.write(g, new double[(int) g.getShape().size()]); // no accumulation
                            }
                        }
                    }
                    for (int i = 0; i < params.size(); i++) {
                        NDArray p = params.get(i).getArray();
                        boolean single = p.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32;
                        double[] wi = w.get(i);
                        double[] g = grads.get(i);
                        double[] ws = wStar.get(i);
                        for (int j = 0; j < wi.length; j++) {
                            double drift = 0.5 * config.stepSize() * (nBeta * g[j] + config.localization() * (wi[j] - ws[j]));
                            double next = wi[j] - drift + sqrtEps * gaussian(rng);
                            wi[j] = single ? (float) next : next; // as stored, so the chain sees what the model holds
                        }
                        ParameterState.write(p, wi);
                    }
                    if (!Double.isFinite(batchLoss)) {
                        throw new IllegalStateException("SGLD diverged (loss " + batchLoss + " at chain " + c
                                + ", step " + t + "): lower stepSize " + config.stepSize());
                    }
                    if (t >= config.burnIn()) {
                        sum += batchLoss;
                    }
                }
                chainLambdas[c] = nBeta * (sum / config.draws() - loss0);
            }
            double mean = 0;
            for (double v : chainLambdas) {
                mean += v / chainLambdas.length;
            }
            double se = Double.NaN;
            if (chainLambdas.length > 1) {
                double ss = 0;
                for (double v : chainLambdas) {
                    ss += (v - mean) * (v - mean);
                }
                se = Math.sqrt(ss / (chainLambdas.length - 1) / chainLambdas.length);
            }
            return new Result(mean, se, chainLambdas, loss0, passes[0], passes[1], (System.nanoTime() - t0) / 1e9);
        } finally {
            saved.restore();
            for (int i = 0; i < params.size(); i++) {
                try (NDArray g = params.get(i).getArray().getGradient()) {
                    ParameterState.write(g, savedGrads.get(i));
                }
            }
        }
    }

    /** Full-batch {@code L} at the current parameters, without a graph. */
    private static double loss(Block block, NDArray x, NDArray y, Loss kind, NDManager scope, long[] passes) {
        try (NDManager s = scope.newSubManager()) {
            NDArray xs = x.get(":");
            NDArray ys = y.get(":");
            xs.attach(s);
            ys.attach(s);
            NDArray l = dev.deadwatch.capture.GradMode.off(() -> loss(block, xs, ys, kind, s, false));
            passes[0]++;
            return l.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        }
    }

    /** {@code L} of the batch: see {@link Loss}. */
    private static NDArray loss(Block block, NDArray x, NDArray y, Loss kind, NDManager s, boolean training) {
        NDArray out = block.forward(new ParameterStore(s, false), new NDList(x), training).singletonOrThrow();
        NDArray r = out.sub(y);
        NDArray l = kind == Loss.MEAN_SQUARED_ERROR ? r.mul(r).mean()
                : r.mul(r).reshape(x.getShape().get(0), -1).sum(new int[] {1}).mean()
                        .mul(EngineScalar.of(r.getManager(), 0.5, r.getDataType())); // not mul(0.5): docs/findings.md
        l.attach(s);
        return l;
    }

    private static double gaussian(SplittableRandom rng) {
        // Box–Muller on the seeded stream (java.util.Random's nextGaussian is not splittable)
        double u1 = 1 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
