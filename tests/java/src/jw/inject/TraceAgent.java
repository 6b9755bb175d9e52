package jw.inject;

import java.io.ByteArrayInputStream;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import javassist.ClassPool;
import javassist.CtClass;
import javassist.CtMethod;
import javassist.LoaderClassPath;

// An APM-style agent: with options "class=NAME" it rewrites NAME's methods with javassist
// to print "ENTER <method>" and "EXIT <method>" on the application's stdout, including a
// class that is already loaded (retransformation).
public class TraceAgent {
    public static void agentmain(String options, Instrumentation inst) throws Exception {
        String target = "jw.inject.Work";
        for (String kv : (options == null ? "" : options).split(",")) {
            if (kv.startsWith("class=")) target = kv.substring("class=".length());
        }
        final String internal = target.replace('.', '/');
        ClassFileTransformer t = new ClassFileTransformer() {
            @Override
            public byte[] transform(ClassLoader loader, String name, Class<?> redefined,
                                    ProtectionDomain pd, byte[] bytes) {
                if (!internal.equals(name)) return null;
                try {
                    ClassPool pool = new ClassPool(true);
                    if (loader != null) pool.appendClassPath(new LoaderClassPath(loader));
                    CtClass cc = pool.makeClass(new ByteArrayInputStream(bytes));
                    for (CtMethod m : cc.getDeclaredMethods()) {
                        if (m.isEmpty()) continue;
                        String label = cc.getSimpleName() + "." + m.getName();
                        m.insertBefore("System.out.println(\"ENTER " + label + "\");");
                        m.insertAfter("System.out.println(\"EXIT " + label + "\");");
                    }
                    byte[] out = cc.toBytecode();
                    cc.detach();
                    return out;
                } catch (Throwable e) {
                    System.err.println("TraceAgent: " + e);
                    return null;
                }
            }
        };
        inst.addTransformer(t, true);
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (c.getName().equals(target)) inst.retransformClasses(c);
        }
        System.out.println("TraceAgent: instrumenting " + target);
        System.out.flush();
    }
}
