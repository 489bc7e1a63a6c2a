package dev.deadwatch.listener;

/** Something the listener runs that may throw; its callbacks catch everything it throws. */
@FunctionalInterface
interface ThrowingAction {
    /** @throws Exception anything: the caller counts and logs it */
    void run() throws Exception;
}
