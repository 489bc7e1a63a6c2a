package dev.deadwatch.snapshot;

import dev.deadwatch.monitor.ReadReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The reads of a snapshot run again ({@link SnapshotReader#reread}).
 *
 * @param info the snapshot's settings and what the live monitor exported
 * @param report the reads' results
 * @param exported the numbers the live monitor would export for them (with the order read of the
 *     live run carried, when it was not run again)
 * @param notes what was not read as live (a loss that cannot be built again, added reads), one line each
 */
public record Reread(SnapshotInfo info, ReadReport report, Exported exported, List<String> notes) {

    /** Copies. */
    public Reread {
        notes = List.copyOf(notes);
    }

    /**
     * @return every difference between these numbers and those the live monitor exported, one
     *     line each (empty when they are the same). Dead counts and orders are compared when both
     *     rest on the same order read
     */
    public List<String> differences() {
        Exported live = info.exported();
        List<String> out = new ArrayList<>();
        if (sameOrderRead()) {
            compare(out, "dead", live.dead(), exported.dead());
            compare(out, "orders", live.orders(), exported.orders());
        }
        compare(out, "structural", live.structural(), exported.structural());
        compare(out, "unresolved", live.unresolved(), exported.unresolved());
        return out;
    }

    /**
     * @return whether these numbers rest on the order read the live export rested on (not so when
     *     the order read was run again on a snapshot where it did not run live)
     */
    public boolean sameOrderRead() {
        return info.exported().orderStep() == exported.orderStep();
    }

    private static void compare(List<String> out, String what, Map<String, ?> live, Map<String, ?> now) {
        if (!live.equals(now)) {
            out.add(what + ": exported " + live + ", read again " + now);
        }
    }
}
