package dev.deadwatch.listener;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs a failure once per cause (where, exception class and message); repeats are counted elsewhere, not logged. */
final class OnceLog {

    private static final Logger LOG = LoggerFactory.getLogger(DeadwatchListener.class);
    private final Set<String> logged = ConcurrentHashMap.newKeySet();

    /**
     * Logs a warning the first time its key is seen.
     *
     * @param key what the warning is about
     * @param format an SLF4J message format
     * @param args its arguments
     */
    void once(String key, String format, Object... args) {
        if (logged.add(key)) {
            LOG.warn(format, args);
        }
    }

    /**
     * @param where what failed (a callback, a read)
     * @param e the failure
     */
    void warn(String where, Throwable e) {
        String cause = where + ":" + e.getClass().getName() + ":" + e.getMessage();
        if (logged.add(cause)) {
            LOG.warn("deadwatch: {} failed ({}); training continues, further identical failures are"
                    + " counted, not logged", where, e.toString(), e);
        }
    }
}
