package dev.deadwatch.cli;

/**
 * Adds a subcommand to the {@code deadwatch} CLI from another module (the examples module adds
 * {@code demo}). Registered through {@code META-INF/services/dev.deadwatch.cli.CommandProvider}.
 */
public interface CommandProvider {
    /** @return a picocli-annotated command object */
    Object command();
}
