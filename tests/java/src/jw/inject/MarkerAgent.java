package jw.inject;

import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

// A java agent that proves it ran and what options it got: for options
// "marker=FILE[,anything]" it appends "AGENT <System.nanoTime()> <pid> <options>" to FILE.
// Append, so a test can count loads (exactly once = one line).
public class MarkerAgent {
    public static void agentmain(String options, Instrumentation inst) throws Exception {
        long t = System.nanoTime();
        mark(t, options);
    }

    public static void premain(String options, Instrumentation inst) throws Exception {
        mark(System.nanoTime(), options);
    }

    private static void mark(long t, String options) throws Exception {
        String file = null;
        for (String kv : (options == null ? "" : options).split(",")) {
            if (kv.startsWith("marker=")) file = kv.substring("marker=".length());
        }
        if (file == null) {
            System.err.println("MarkerAgent: no marker= option in '" + options + "'");
            return;
        }
        Files.writeString(Path.of(file),
                "AGENT " + t + " " + ProcessHandle.current().pid() + " " + options + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
