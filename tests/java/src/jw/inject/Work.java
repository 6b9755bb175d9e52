package jw.inject;

// The application class the javassist agent instruments (method entry/exit).
public class Work {
    private long sum;

    public long step(int n) {
        sum += compute(n);
        return sum;
    }

    long compute(int n) {
        return (long) n * n;
    }
}
