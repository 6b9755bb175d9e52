// Shared helpers for jvmwatch's tests: root gating, temp dirs, and real JVMs started
// and reaped by RAII.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace jvmwatch::test {

// Root-only tests call this first.  Without root they skip, unless
// JVMWATCH_REQUIRE_ROOT=1 (CI), when they fail: CI must not pass by skipping.
#define JW_REQUIRE_ROOT()                                                          \
    do {                                                                           \
        if (!::jvmwatch::test::have_root()) {                                      \
            if (::jvmwatch::test::root_required())                                 \
                FAIL() << "JVMWATCH_REQUIRE_ROOT=1 but this test is not root";     \
            GTEST_SKIP() << "needs root (set JVMWATCH_REQUIRE_ROOT=1 to fail instead)"; \
        }                                                                          \
    } while (0)

bool have_root();
bool root_required();

// The build directory ($JVMWATCH_BUILD, default "build"), and paths inside it.
std::string build_dir();
std::string bin_path(const std::string& name);   // build/bin/NAME
std::string java_classes();                      // build/java/classes
std::string java_jar(const std::string& name);   // build/java/NAME.jar
std::string source_dir();                        // the repository top ($JVMWATCH_SRC or cwd)
std::string read_text(const std::string& path);  // a whole file ("" if unreadable)

// A private directory removed (recursively) on destruction.  `base` is /tmp unless a
// test needs a directory that a private tmpfs on /tmp would hide (use /var/tmp then).
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "jvmwatch-test", const std::string& base = "/tmp");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
private:
    std::string path_;
};

// A child process with stdout+stderr captured into a file; killed (SIGKILL) and
// reaped on destruction.
class Child {
public:
    struct Spec {
        std::vector<std::string> argv;          // argv[0] is looked up in PATH
        std::vector<std::string> env_extra;     // "K=V" added to the environment
        std::optional<uid_t> uid;               // drop to this uid/gid before exec
        std::optional<gid_t> gid;
        std::string cwd;                        // "" = inherit
    };
    explicit Child(Spec spec);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    std::string output() const;                 // what it printed so far
    // Waits until the output contains `needle`; false on timeout or exit.
    bool wait_for_output(const std::string& needle,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
    bool alive() const;                         // not exited (reaps if it has)
    // Waits for exit; returns the wait status, or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    void kill(int sig);
private:
    pid_t pid_ = -1;
    mutable bool reaped_ = false;
    mutable int status_ = 0;
    std::string out_path_;
    TempDir dir_;
};

// `java -cp build/java/classes <jvm_args...> <main> <args...>`: a real JDK 17 JVM.
Child::Spec java_spec(const std::vector<std::string>& jvm_args, const std::string& main,
                      const std::vector<std::string>& args = {});

// Runs a command to completion; returns exit status (or -1) and fills *output.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls `pred` every few ms until true or timeout.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        struct timespec ts{0, 5 * 1000 * 1000};
        nanosleep(&ts, nullptr);
    }
    return pred();
}

}  // namespace jvmwatch::test
