package jw.test;

import java.util.concurrent.CountDownLatch;

// An idle JVM with many parked threads (args[0], default 10000): a large thread dump
// for tests of streamed attach output.  Prints "ready" once all threads run.
public final class ManyThreads {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10000;
        CountDownLatch started = new CountDownLatch(n);
        Object never = new Object();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(null, () -> {
                started.countDown();
                synchronized (never) {
                    try {
                        never.wait();
                    } catch (InterruptedException e) {
                        // exit
                    }
                }
            }, "many-worker-" + i, 64 * 1024);
            t.setDaemon(true);
            t.start();
        }
        started.await();
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
