package dev.deadwatch.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code deadwatch} command line. */
@Command(
        name = "deadwatch",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Watch the dead directions of a DJL model while it trains.",
        subcommands = {CellsCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /** @param args command-line arguments */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** @return the CLI with every {@link CommandProvider} on the classpath added */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (CommandProvider p : java.util.ServiceLoader.load(CommandProvider.class)) {
            cl.addSubcommand(p.command());
        }
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
