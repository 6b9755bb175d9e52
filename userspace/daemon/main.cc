// PLACEHOLDER: replaced by the daemon.
#include <cstdio>
int main() { std::fprintf(stderr, "jvmwatchd: not built yet\n"); return 13; }
