package jw.test;

// A long-running, idle JVM for attach tests: prints "ready" once main() runs, then
// sleeps (default 10 minutes; args[0] = seconds) so the tests always kill it.
public final class Sleeper {
    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 600;
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(seconds * 1000);
    }
}
