package jw.inject;

// A second application that an injection rule on InjectApp must not match.
public class OtherApp {
    public static void main(String[] args) throws Exception {
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
