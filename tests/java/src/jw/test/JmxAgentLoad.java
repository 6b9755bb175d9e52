package jw.test;

import com.sun.tools.attach.VirtualMachine;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

// Loads a Java agent into another JVM without the attach socket's `load` operation: over
// JMX, through the DiagnosticCommand MBean's jvmtiAgentLoad (the `JVMTI.agent_load`
// diagnostic command, source "MBean").  Usage: JmxAgentLoad PID AGENT_JAR [OPTIONS].
// The target's local JMX connector must be up (`jcmd PID ManagementAgent.start_local`);
// if it is not, it is started through the attach API (startLocalManagementAgent), which
// itself goes through the attach socket.  Prints the command's result; exit 0 when it
// says "return code: 0", 1 otherwise, 2 on bad usage.  OPTIONS must not hold a space
// (the MBean joins the arguments into one command line).
public final class JmxAgentLoad {
    private static final String ADDRESS_PROPERTY = "com.sun.management.jmxremote.localConnectorAddress";

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: JmxAgentLoad PID AGENT_JAR [OPTIONS]");
            System.exit(2);
        }
        String address;
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try {
            address = vm.getAgentProperties().getProperty(ADDRESS_PROPERTY);
            if (address == null) address = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        // The command's arguments: the jar, then its options (the JVM joins them with
        // '=' for the agent); the MBean joins the array with spaces into one command line.
        String[] command = args.length > 2 ? new String[] {args[1], args[2]} : new String[] {args[1]};
        String result;
        try (JMXConnector jmx = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection server = jmx.getMBeanServerConnection();
            ObjectName dcmd = new ObjectName("com.sun.management:type=DiagnosticCommand");
            Object reply = server.invoke(dcmd, "jvmtiAgentLoad",
                    new Object[] {command}, new String[] {String[].class.getName()});
            result = String.valueOf(reply);
        }
        System.out.println("jvmtiAgentLoad: " + result.trim());
        System.out.flush();
        // JDK 17 and 25 answer "return code: N" with the agent's result (0 = loaded).
        System.exit(result.trim().equals("return code: 0") ? 0 : 1);
    }
}
