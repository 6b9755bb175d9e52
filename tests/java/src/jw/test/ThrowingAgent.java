package jw.test;

// Agent whose agentmain throws: the JVM reports a non-zero agent result.
public final class ThrowingAgent {
    public static void agentmain(String options) {
        throw new IllegalStateException("ThrowingAgent refuses to load: " + options);
    }
}
