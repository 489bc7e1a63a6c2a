package dev.deadwatch.cli;

import dev.deadwatch.examples.BenchCommand;
import dev.deadwatch.examples.DemoCommand;
import dev.deadwatch.examples.OverheadCommand;
import dev.deadwatch.examples.ReadCommand;
import dev.deadwatch.export.BuildInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code deadwatch} command line ({@code ./deadwatch} at the repository root). */
@Command(
        name = "deadwatch",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Watch the dead directions of a DJL model while it trains.",
        subcommands = {DemoCommand.class, CellsCommand.class, BenchCommand.class, OverheadCommand.class, ReadCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /** @param args command-line arguments */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /**
     * @return the command line with every subcommand; a bad value or an endpoint that cannot be
     *     bound ends a command with one line naming it and exit code 1, not a stack trace
     */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cl, parsed) -> {
            if (e instanceof java.io.UncheckedIOException || e instanceof IllegalArgumentException) {
                cl.getErr().println("deadwatch: " + e.getMessage());
                return 1;
            }
            throw e;
        });
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code --version}: the build's version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"deadwatch " + BuildInfo.currentVersion()};
        }
    }
}
