package dev.deadwatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The dump's exposition: one run cut out of a shared scrape, and scrapes joined family by family. */
class ExpositionTest {

    private static final String SHARED = """
            # HELP deadwatch_info Build and engine identity (always 1).
            # TYPE deadwatch_info gauge
            deadwatch_info{engine="PyTorch",model="m",run="a",version="0.1.0"} 1.0
            deadwatch_info{engine="PyTorch",model="m",run="a-1",version="0.1.0"} 1.0
            # HELP deadwatch_read_seconds Time per read.
            # TYPE deadwatch_read_seconds summary
            deadwatch_read_seconds_count{model="m",read="dds",run="a-1"} 2
            deadwatch_read_seconds_sum{model="m",read="dds",run="a-1"} 0.5
            """;

    @Test
    void oneRunIsCutOutOfASharedScrapeAndItsEmptyFamiliesDropped() {
        assertThat(Exposition.onlyRun(SHARED, "a")).isEqualTo("""
                # HELP deadwatch_info Build and engine identity (always 1).
                # TYPE deadwatch_info gauge
                deadwatch_info{engine="PyTorch",model="m",run="a",version="0.1.0"} 1.0
                """);
    }

    @Test
    void scrapesAreJoinedWithEachFamilyOnce() {
        String a = Exposition.onlyRun(SHARED, "a");
        String live = """
                # HELP deadwatch_info Build and engine identity (always 1).
                # TYPE deadwatch_info gauge
                deadwatch_info{engine="PyTorch",model="m",run="b",version="0.1.0"} 1.0
                # HELP deadwatch_step Training step of the newest completed read.
                # TYPE deadwatch_step gauge
                deadwatch_step{model="m",run="b"} 40.0
                """;
        assertThat(Exposition.merge(List.of(a, live))).isEqualTo("""
                # HELP deadwatch_info Build and engine identity (always 1).
                # TYPE deadwatch_info gauge
                deadwatch_info{engine="PyTorch",model="m",run="a",version="0.1.0"} 1.0
                deadwatch_info{engine="PyTorch",model="m",run="b",version="0.1.0"} 1.0
                # HELP deadwatch_step Training step of the newest completed read.
                # TYPE deadwatch_step gauge
                deadwatch_step{model="m",run="b"} 40.0
                """);
    }

    @Test
    void aSeriesGivenTwiceKeepsItsLastValue() {
        String first = "# TYPE deadwatch_step gauge\ndeadwatch_step{model=\"m\",run=\"a\"} 10.0\n";
        String second = "# TYPE deadwatch_step gauge\ndeadwatch_step{model=\"m\",run=\"a\"} 20.0\n";
        assertThat(Exposition.merge(List.of(first, second)))
                .isEqualTo("# TYPE deadwatch_step gauge\ndeadwatch_step{model=\"m\",run=\"a\"} 20.0\n");
    }
}
