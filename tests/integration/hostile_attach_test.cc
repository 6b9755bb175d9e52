// `jvmwatch attach` and `jvmwatch ps` against hostile targets (root, real JVMs where a
// JVM is involved): a JVM whose /tmp leads out of its root or is a file, fake listeners
// that never answer, stop mid-reply, stream without end or run as the wrong user, a
// reused pid, and names and JDK files built to hang or fool the CLI.  For each: one
// clear line and the documented exit code, nothing created outside the target's root,
// no JVM prints a thread dump or dies.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "attach/procfs.h"
#include "jvmwatch/attach.h"
#include "tests/common/support.h"
#include "userspace/cli/commands.h"

namespace jvmwatch::attach {
namespace {

namespace fs = std::filesystem;
using test::Child;
using test::TempDir;
using Clock = std::chrono::steady_clock;

constexpr uid_t kNobody = 65534;

// One run of the CLI: exit code, its stdout and stderr apart, peak RSS and wall time.
struct Cli {
    int code = -1;
    std::string out, err;
    long max_rss_kib = 0;
    std::chrono::milliseconds took{0};
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

Cli run_cli(std::vector<std::string> args, bool keep_stdout = true) {
    TempDir dir("jw-hostile-cli");
    std::string out = keep_stdout ? dir.file("out") : "/dev/null", err = dir.file("err");
    args.insert(args.begin(), test::bin_path("jvmwatch"));
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    Cli r;
    int status = 0;
    struct rusage ru {};
    // Bounded: a hung CLI is killed after 60 s (and the test then fails on the code).
    while (wait4(pid, &status, WNOHANG, &ru) == 0) {
        if (Clock::now() - t0 > std::chrono::seconds(60)) kill(pid, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.max_rss_kib = ru.ru_maxrss;
    if (keep_stdout) r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

// Exactly one line on stderr, naming the cause.
void expect_one_line(const Cli& r, const std::string& needle) {
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("jvmwatch: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

void expect_no_thread_dump(const Child& jvm) {
    EXPECT_EQ(jvm.output().find("Full thread dump"), std::string::npos) << jvm.output();
}

bool dir_is_empty(const std::string& path) { return fs::is_empty(path); }

// A JVM running as nobody in its own mount namespace, chrooted into a tree whose /tmp
// is whatever the test makes it.  The tree borrows /usr, /etc and /dev by bind mounts
// private to that namespace (never visible on the host).
class ChrootJvm {
public:
    enum class Tmp { absolute_link_to_host_dir, regular_file };
    explicit ChrootJvm(Tmp tmp) {
        (void)!chmod(root_.path().c_str(), 0755);
        for (const char* d : {"usr", "etc", "dev", "proc", "cp"}) fs::create_directory(root_.file(d));
        for (const char* l : {"lib", "lib64", "bin"}) fs::create_symlink(std::string("usr/") + l, root_.file(l));
        fs::copy(test::java_classes(), root_.file("cp"), fs::copy_options::recursive);
        (void)!chown(host_dir_.path().c_str(), kNobody, kNobody);  // the JVM user's own host dir
        if (tmp == Tmp::absolute_link_to_host_dir) fs::create_symlink(host_dir_.path(), root_.file("tmp"));
        else std::ofstream(root_.file("tmp")) << "not a directory\n";
        const std::string& r = root_.path();
        std::string script = "mount --rbind /usr " + r + "/usr && mount --rbind /etc " + r +
                             "/etc && mount --rbind /dev " + r + "/dev && mount -t proc proc " + r +
                             "/proc && exec chroot --userspec=65534:65534 " + r +
                             " java -XX:-UsePerfData -Xmx64m -cp /cp jw.test.Sleeper";
        Child::Spec s;
        s.argv = {"unshare", "--mount", "--propagation", "private", "sh", "-c", script};
        jvm_ = std::make_unique<Child>(s);  // sh and chroot exec: its pid is the JVM's
    }
    Child& jvm() { return *jvm_; }
    const std::string& host_dir() const { return host_dir_.path(); }

private:
    TempDir root_{"jw-hostile-root", "/var/tmp"};
    TempDir host_dir_{"jw-hostile-hostdir", "/var/tmp"};
    std::unique_ptr<Child> jvm_;  // destroyed first: the namespace and its mounts go
};

void expect_unsafe_and_untouched(ChrootJvm& c, const std::string& needle) {
    ASSERT_TRUE(c.jvm().wait_for_output("ready", std::chrono::seconds(60))) << c.jvm().output();
    auto st = proc::read_status("/proc", c.jvm().pid());
    ASSERT_TRUE(st);
    ASSERT_EQ(st->name, "java");
    ASSERT_EQ(st->euid, kNobody);
    auto r = run_cli({"attach", "--timeout", "10000", std::to_string(c.jvm().pid()), "threaddump"});
    EXPECT_EQ(r.code, cli::kUnsafe) << r.err;
    expect_one_line(r, needle);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_TRUE(dir_is_empty(c.host_dir())) << "something was created on the host";
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a dump would show by now
    expect_no_thread_dump(c.jvm());
    EXPECT_TRUE(c.jvm().alive());
}

TEST(HostileAttach, TmpIsAnAbsoluteLinkToAHostDirectory) {
    JW_REQUIRE_ROOT();
    ChrootJvm c(ChrootJvm::Tmp::absolute_link_to_host_dir);
    // Its /tmp leads nowhere inside its root and its cwd ("/") is root's: no safe place.
    expect_unsafe_and_untouched(c, "no safe place for the trigger file");
}

TEST(HostileAttach, TmpIsAFile) {
    JW_REQUIRE_ROOT();
    ChrootJvm c(ChrootJvm::Tmp::regular_file);
    expect_unsafe_and_untouched(c, "its /tmp");
}

// A process that is not a JVM plays its listener: it binds /tmp/.java_pid<own pid> (as
// root, like the test: the warm path), then behaves as told.  Forked from the test; the
// child uses only raw syscalls.
class FakeListener {
public:
    enum class Mode { never_answers, closes_mid_reply, streams_forever };
    explicit FakeListener(Mode mode) {
        pid_ = fork();
        if (pid_ == 0) serve(mode);
        path_ = "/tmp/.java_pid" + std::to_string(pid_);
        ready_ = test::eventually([&] {
            struct stat sb;
            return lstat(path_.c_str(), &sb) == 0;
        });
    }
    ~FakeListener() {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        unlink(path_.c_str());
    }
    pid_t pid() const { return pid_; }
    bool ready() const { return ready_; }
    bool alive() const { return kill(pid_, 0) == 0; }

private:
    [[noreturn]] static void serve(Mode mode) {
        char path[64];
        std::snprintf(path, sizeof path, "/tmp/.java_pid%d", int(getpid()));
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
        if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4) != 0)
            _exit(1);
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (;;) {
            int c = accept(s, nullptr, nullptr);
            if (c < 0) continue;
            char req[4096];
            (void)!read(c, req, sizeof req);
            if (mode == Mode::closes_mid_reply) {
                (void)!send(c, "0", 1, MSG_NOSIGNAL);  // no newline: the code line never ends
            } else if (mode == Mode::streams_forever) {
                (void)!send(c, "0\n", 2, MSG_NOSIGNAL);
                while (send(c, chunk, sizeof chunk, MSG_NOSIGNAL) > 0) {
                }
            } else {
                pause();  // never answers
            }
            close(c);
        }
    }
    pid_t pid_ = -1;
    std::string path_;
    bool ready_ = false;
};

TEST(HostileAttach, ListenerThatNeverAnswersTimesOut) {
    JW_REQUIRE_ROOT();
    FakeListener l(FakeListener::Mode::never_answers);
    ASSERT_TRUE(l.ready());
    auto r = run_cli({"attach", "--timeout", "1500", std::to_string(l.pid()), "properties"});
    EXPECT_EQ(r.code, cli::kTimedOut) << r.err;
    expect_one_line(r, "did not answer");
    EXPECT_GE(r.took, std::chrono::milliseconds(1400));
    EXPECT_LT(r.took, std::chrono::milliseconds(1500 + 3000)) << "timeout plus a margin";
}

TEST(HostileAttach, ListenerThatClosesMidReplyIsProtocolError) {
    JW_REQUIRE_ROOT();
    FakeListener l(FakeListener::Mode::closes_mid_reply);
    ASSERT_TRUE(l.ready());
    auto r = run_cli({"attach", "--timeout", "5000", std::to_string(l.pid()), "properties"});
    EXPECT_EQ(r.code, cli::kProtocolError) << r.err;
    expect_one_line(r, "truncated reply");
}

TEST(HostileAttach, ListenerThatStreamsForeverEndsAtTheDeadlineInBoundedMemory) {
    JW_REQUIRE_ROOT();
    FakeListener l(FakeListener::Mode::streams_forever);
    ASSERT_TRUE(l.ready());
    auto r = run_cli({"attach", "--timeout", "3000", std::to_string(l.pid()), "properties"},
                     /*keep_stdout=*/false);
    EXPECT_EQ(r.code, cli::kTimedOut) << r.err;
    expect_one_line(r, "did not answer");
    EXPECT_LT(r.took, std::chrono::milliseconds(3000 + 3000));
    // It streamed to stdout instead of growing: a static CLI needs a few MiB (the old
    // whole-reply buffer reached 513 MiB within 3 s).
    EXPECT_LT(r.max_rss_kib, 32 * 1024) << "VmHWM of the CLI";
    // --json keeps at most Options::max_output (1 MiB) and stops reading there.
    auto j = run_cli({"attach", "--json", "--timeout", "3000", std::to_string(l.pid()), "properties"});
    EXPECT_EQ(j.code, cli::kOk) << j.err;
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["output"].get<std::string>().size(), size_t(1) << 20);
    EXPECT_EQ(doc["output_truncated"], true);
    EXPECT_LT(j.max_rss_kib, 64 * 1024);
}

// A copy of `prog` named `java` in a directory everyone may enter: a non-JVM process
// that looks like one by its exe name.
struct FakeJava {
    TempDir dir{"jw-hostile-java", "/var/tmp"};
    std::string exe;
    explicit FakeJava(const std::string& prog, const std::string& sub = "") {
        chmod(dir.path().c_str(), 0755);
        std::string bin = sub.empty() ? dir.path() : dir.file(sub);
        fs::create_directories(bin);
        exe = bin + "/java";
        fs::copy_file(prog, exe);
        chmod(exe.c_str(), 0755);
    }
};

TEST(HostileAttach, ListenerOfAnotherUserIsUntrusted) {
    JW_REQUIRE_ROOT();
    // The target runs as nobody; its socket file is nobody's, but the process listening
    // on it runs as uid 65533 (bound and chowned by root, then listen() as 65533).
    FakeJava fake("/bin/sleep");
    Child::Spec s;
    s.argv = {fake.exe, "600"};
    s.uid = kNobody;
    s.gid = kNobody;
    Child target(s);
    ASSERT_TRUE(test::eventually([&] {
        auto st = proc::read_status("/proc", target.pid());
        return st && st->euid == kNobody && st->name == "java";
    }));
    std::string path = "/tmp/.java_pid" + std::to_string(target.pid());
    pid_t listener = fork();
    if (listener == 0) {
        int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        if (sfd < 0 || bind(sfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            chown(path.c_str(), kNobody, kNobody) != 0 ||
            syscall(SYS_setresgid, 65533, 65533, 65533) != 0 ||
            syscall(SYS_setresuid, 65533, 65533, 65533) != 0 || listen(sfd, 4) != 0)
            _exit(1);
        for (;;) {
            int c = accept(sfd, nullptr, nullptr);
            if (c >= 0) {
                (void)!send(c, "0\nforged reply\n", 15, MSG_NOSIGNAL);
                close(c);
            }
        }
    }
    struct Reap {
        pid_t pid;
        std::string path;
        ~Reap() {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            unlink(path.c_str());
        }
    } reap{listener, path};
    ASSERT_TRUE(test::eventually([&] {
        struct stat sb;
        return lstat(path.c_str(), &sb) == 0 && sb.st_uid == kNobody;
    }));
    auto r = run_cli({"attach", "--timeout", "5000", std::to_string(target.pid()), "properties"});
    EXPECT_EQ(r.code, cli::kUnsafe) << r.err;
    expect_one_line(r, "SO_PEERCRED");
    EXPECT_EQ(r.out.find("forged"), std::string::npos) << r.out;
    EXPECT_TRUE(target.alive());
}

TEST(HostileAttach, PlantedSocketOfAnotherUser) {
    JW_REQUIRE_ROOT();
    FakeJava fake("/bin/sleep");
    Child target(Child::Spec{{fake.exe, "600"}, {}, {}, {}, ""});
    std::string path = "/tmp/.java_pid" + std::to_string(target.pid());
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(bind(sfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(chown(path.c_str(), kNobody, kNobody), 0);  // the target is root's
    listen(sfd, 4);
    auto r = run_cli({"attach", "--timeout", "5000", std::to_string(target.pid()), "properties"});
    close(sfd);
    unlink(path.c_str());
    EXPECT_EQ(r.code, cli::kUnsafe) << r.err;
    expect_one_line(r, "owned by uid 65534");
    EXPECT_TRUE(target.alive()) << "no SIGQUIT was sent";
}

TEST(HostileAttach, ReusedPidIsTargetExited) {
    JW_REQUIRE_ROOT();
    FakeJava fake("/bin/sleep");
    Child target(Child::Spec{{fake.exe, "600"}, {}, {}, {}, ""});
    std::optional<proc::Stat> st;
    ASSERT_TRUE(test::eventually([&] { return (st = proc::read_stat("/proc", target.pid())).has_value(); }));
    Options o;
    o.timeout = std::chrono::seconds(5);
    o.expect_start_ticks = st->start_time_ticks + 1;  // the process decided on was another
    auto r = run(target.pid(), {"properties", {}}, o);
    EXPECT_EQ(r.outcome, Outcome::target_exited) << r.detail;
    EXPECT_NE(r.detail.find("reused"), std::string::npos) << r.detail;
    EXPECT_FALSE(r.signalled);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(target.alive()) << "a SIGQUIT would have killed it";
    struct stat sb;
    EXPECT_NE(lstat(("/tmp/.attach_pid" + std::to_string(target.pid())).c_str(), &sb), 0);
}

TEST(HostileAttach, PsWithHostileNamesAndAFifoRelease) {
    JW_REQUIRE_ROOT();
    // A shell named java in <home>/bin, with a FIFO as <home>/release, running a script
    // whose name forges a line, colours the terminal and is not UTF-8, with 1 MiB of args.
    FakeJava fake("/bin/sh", "bin");
    ASSERT_EQ(mkfifo(fake.dir.file("release").c_str(), 0644), 0);
    std::string script = fake.dir.file("evil\x1b[31m\nFORGED 1 root\xff.sh");
    std::ofstream(script) << "sleep 600\n";
    Child::Spec s;
    s.argv = {fake.exe, script};
    for (int i = 0; i < 9; ++i) s.argv.push_back(std::string(120 << 10, 'a'));  // ~1 MiB
    Child target(s);
    std::string pid = std::to_string(target.pid());
    ASSERT_TRUE(test::eventually([&] {
        auto st = proc::read_status("/proc", target.pid());
        return st && st->name == "java";
    }));
    auto plain = run_cli({"ps", "--proc"});
    EXPECT_EQ(plain.code, cli::kOk) << plain.err;
    EXPECT_LT(plain.took, std::chrono::seconds(10)) << "the FIFO release must not block";
    EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
    EXPECT_EQ(plain.out.find("\nFORGED"), std::string::npos) << plain.out;
    EXPECT_NE(plain.out.find("evil\\x1b[31m\\nFORGED 1 root\xEF\xBF\xBD.sh"), std::string::npos)
        << plain.out;
    auto json = run_cli({"ps", "--proc", "--json"});
    EXPECT_EQ(json.code, cli::kOk) << json.err;
    EXPECT_LT(json.took, std::chrono::seconds(10));
    nlohmann::json doc;
    ASSERT_NO_THROW(doc = nlohmann::json::parse(json.out)) << json.out;
    bool found = false;
    for (auto& j : doc)
        if (j["pid"] == target.pid()) {
            found = true;
            // Invalid UTF-8 replaced (U+FFFD), as in the event stream; the rest kept.
            EXPECT_EQ(j["main"].get<std::string>(),
                      fake.dir.file("evil\x1b[31m\nFORGED 1 root\xEF\xBF\xBD.sh"));
            EXPECT_EQ(j["jdk"], "");
        }
    EXPECT_TRUE(found) << json.out;
}

TEST(HostileAttach, ThreadDumpOfTenThousandThreadsStreams) {
    JW_REQUIRE_ROOT();
    Child jvm(test::java_spec({"-Xmx256m"}, "jw.test.ManyThreads", {"10000"}));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(120))) << jvm.output();
    auto r = run_cli({"attach", "--timeout", "60000", std::to_string(jvm.pid()), "jcmd",
                      "Thread.print"});
    EXPECT_EQ(r.code, cli::kOk) << r.err;
    size_t workers = 0;
    for (size_t at = 0; (at = r.out.find("\"many-worker-", at)) != std::string::npos; ++at) ++workers;
    EXPECT_EQ(workers, 10000u);
    EXPECT_GT(r.out.size(), size_t(1) << 20) << "more than max_output: streamed, not capped";
    EXPECT_LT(r.max_rss_kib, 32 * 1024) << "streamed, not buffered";
    EXPECT_TRUE(jvm.alive());
}

}  // namespace
}  // namespace jvmwatch::attach
