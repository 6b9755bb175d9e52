package jw.inject;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

// A small application the injector tests and bench/inject.sh attach to.
//   java jw.inject.InjectApp [--main-mark FILE] [--run-ms N]
// With --main-mark it appends "MAIN <System.nanoTime()> <pid>" to FILE as main() starts (nanoTime is
// CLOCK_MONOTONIC on Linux, comparable with the agent's and the launcher's timestamps).
// It prints "READY", then calls Work.step() every 50 ms for --run-ms (default: forever).
// Other "--name value" pairs (e.g. --tag, which tests match rules on) are ignored.
public class InjectApp {
    public static void main(String[] args) throws Exception {
        long t = System.nanoTime();
        long runMs = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--main-mark")) {
                Files.writeString(Path.of(args[i + 1]),
                        "MAIN " + t + " " + ProcessHandle.current().pid() + "\n",
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } else if (args[i].equals("--run-ms")) {
                runMs = Long.parseLong(args[i + 1]);
            }
        }
        System.out.println("READY");
        System.out.flush();
        long end = runMs < 0 ? Long.MAX_VALUE : System.currentTimeMillis() + runMs;
        Work w = new Work();
        int n = 0;
        while (System.currentTimeMillis() < end) {
            w.step(n++);
            Thread.sleep(50);
        }
        System.out.println("DONE " + n);
    }
}
