package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;

class AgentArgsTest {

    @ParameterizedTest
    @NullAndEmptySource
    void emptyArgumentsGiveTheDefaults(String text) {
        assertThat(AgentArgs.parse(text)).isEqualTo(AgentArgs.defaults());
        assertThat(AgentArgs.defaults().port()).isEqualTo(9400);
        assertThat(AgentArgs.defaults().host()).isEqualTo("127.0.0.1");
    }

    @Test
    void everyKeyParses() {
        AgentArgs a = AgentArgs.parse("port=9500,host=0.0.0.0,every=100,order=3,budget=0.1,probe=32,"
                + "fisher=false,run=exp-7,out=/tmp/dw,dump=/tmp/dw.prom,copies=false");
        assertThat(a).isEqualTo(new AgentArgs(9500, "0.0.0.0", 100, 3, 0.1, 32, false, "exp-7",
                Path.of("/tmp/dw"), Path.of("/tmp/dw.prom"), false));
        assertThat(AgentArgs.defaults().copies()).as("reads on copies by default").isTrue();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "port=99999         | port must be in 0..65535, got '99999'",
        "port=http          | port must be an integer in 0..65535, got 'http'",
        "every=0            | every must be in 1..",
        "every=zero         | got 'zero'",
        "order=-2           | order must be in 1..",
        "budget=0           | budget must be in (0,1], got '0'",
        "budget=lots        | got 'lots'",
        "probe=1            | probe must be 0 (automatic) or in 2..",
        "probe=-3           | probe must be in 0..",
        "fisher=yes         | fisher must be true or false, got 'yes'",
        "copies=1           | copies must be true or false, got '1'",
        "run=has space      | run must be 1-64 characters",
        "colour=blue        | unknown agent argument 'colour'",
        "every              | agent argument 'every' is not key=value",
        "every=5,every=6    | agent argument 'every' given twice",
        "host=              | host must not be empty",
        "dump=              | dump must be a path",
    })
    void badValuesAreRejectedNamingTheValue(String text, String message) {
        assertThatThrownBy(() -> AgentArgs.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message.trim());
    }
}
