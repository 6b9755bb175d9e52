package jw.observer;

// A JVM for the observer tests: says it is up, then idles (args[0] seconds, default 120)
// so a test can signal, attach to and kill it.
public final class Idle {
    public static void main(String[] args) throws Exception {
        long secs = args.length > 0 ? Long.parseLong(args[0]) : 120;
        System.out.println("jw.observer.Idle ready");
        System.out.flush();
        Thread.sleep(secs * 1000L);
    }
}
