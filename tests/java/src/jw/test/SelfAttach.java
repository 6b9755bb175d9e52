package jw.test;

import com.sun.tools.attach.VirtualMachine;

// A JVM that attaches to itself (run with -Djdk.attach.allowAttachSelf=true) and loads
// the agent jar args[0] (agent options args[1], if given) through the attach API, as a
// self-attaching library would.  Prints "self-attach loaded", then sleeps (args[2]
// seconds, default 10 minutes) so a test can inspect it and then kill it.
public final class SelfAttach {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SelfAttach AGENT_JAR [OPTIONS [SECONDS]]");
            System.exit(2);
        }
        String options = args.length > 1 ? args[1] : null;
        long seconds = args.length > 2 ? Long.parseLong(args[2]) : 600;
        String self = Long.toString(ProcessHandle.current().pid());
        VirtualMachine vm = VirtualMachine.attach(self);
        try {
            vm.loadAgent(args[0], options);
        } finally {
            vm.detach();
        }
        System.out.println("self-attach loaded");
        System.out.flush();
        Thread.sleep(seconds * 1000);
    }
}
