package jw.daemon;

// A JVM for the daemon's tests: prints "ready" and idles until killed (or for the
// number of seconds given as the first argument).
public class Idle {
    public static void main(String[] args) throws Exception {
        long secs = args.length > 0 ? Long.parseLong(args[0]) : 600;
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(secs * 1000);
    }
}
