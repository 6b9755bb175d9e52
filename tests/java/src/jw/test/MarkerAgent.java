package jw.test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

// Agent for attach tests.  Options "<marker file>[,<anything>]": agentmain writes the
// whole options string into the marker file, so a test can check what arrived.
public final class MarkerAgent {
    public static void agentmain(String options) throws Exception {
        String file = options.split(",", 2)[0];
        Files.write(Path.of(file), options.getBytes(StandardCharsets.UTF_8));
    }

    public static void premain(String options) throws Exception {
        agentmain(options);
    }
}
