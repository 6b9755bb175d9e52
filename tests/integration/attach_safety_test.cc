// The attach engine's safety rules against real JVMs (root): attach disabled, a JVM
// running as nobody, a JVM in its own pid+mount namespace with a private /tmp, a
// planted socket, a stale socket.  No test may leave a JVM printing a thread dump.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "attach/procfs.h"
#include "jvmwatch/attach.h"
#include "tests/common/support.h"
#include "tests/integration/shared_jvm_fixture.h"

namespace jvmwatch::attach {
namespace {

using test::Child;
using test::java_spec;

constexpr auto kTimeout = std::chrono::seconds(30);

Result attach(pid_t pid, const Request& req) {
    Options o;
    o.timeout = kTimeout;
    return run(pid, req, o);
}

using test::expect_no_thread_dump;

Child::Spec spec_of(std::vector<std::string> argv) {
    Child::Spec s;
    s.argv = std::move(argv);
    return s;
}

std::string socket_path(pid_t pid) { return "/tmp/.java_pid" + std::to_string(pid); }

// A unix socket file at `path` (bound, then closed: nobody listens), owned by `uid`.
// Removed on destruction.
class SocketFile {
public:
    SocketFile(const std::string& path, uid_t uid) : path_(path) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        ok_ = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              chown(path.c_str(), uid, uid) == 0;
        if (fd >= 0) close(fd);
    }
    ~SocketFile() { unlink(path_.c_str()); }
    bool ok() const { return ok_; }
private:
    std::string path_;
    bool ok_ = false;
};

TEST(AttachSafety, DisableAttachMechanismIsNeverSignalled) {
    JW_REQUIRE_ROOT();
    Child cmdline(java_spec({"-XX:+DisableAttachMechanism"}, "jw.test.Sleeper"));
    Child env([] {
        auto s = java_spec({}, "jw.test.Sleeper");
        s.env_extra.push_back("JAVA_TOOL_OPTIONS=-XX:+DisableAttachMechanism");
        return s;
    }());
    for (Child* jvm : {&cmdline, &env}) {
        ASSERT_TRUE(jvm->wait_for_output("ready", std::chrono::seconds(60))) << jvm->output();
        auto r = attach(jvm->pid(), {"properties", {}});
        EXPECT_EQ(r.outcome, Outcome::attach_disabled) << r.detail;
        EXPECT_FALSE(r.signalled);
    }
    // A SIGQUIT would have printed a dump asynchronously: give it time to show.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    expect_no_thread_dump(cmdline);
    expect_no_thread_dump(env);
}

TEST(AttachSafety, JvmRunningAsNobody) {
    JW_REQUIRE_ROOT();
    auto spec = java_spec({"-Xmx64m"}, "jw.test.Sleeper");
    spec.uid = 65534;
    spec.gid = 65534;
    spec.cwd = "/";  // not writable for nobody: the trigger must still work
    Child jvm(spec);
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    auto st = proc::read_status("/proc", jvm.pid());
    ASSERT_TRUE(st);
    ASSERT_EQ(st->euid, 65534u);
    auto r = attach(jvm.pid(), {"jcmd", {"VM.version"}});
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    struct stat sb;
    ASSERT_EQ(lstat(socket_path(jvm.pid()).c_str(), &sb), 0);
    EXPECT_EQ(sb.st_uid, 65534u);
    expect_no_thread_dump(jvm);
}

// Kills a process by pid on destruction (the JVM inside the namespace is not our child).
struct KillOnExit {
    pid_t pid = 0;
    ~KillOnExit() {
        if (pid > 0) kill(pid, SIGKILL);
    }
};

pid_t first_child(pid_t parent) {
    auto text = proc::read_file("/proc/" + std::to_string(parent) + "/task/" +
                                std::to_string(parent) + "/children");
    if (!text) return 0;
    std::istringstream in(*text);
    pid_t p = 0;
    in >> p;
    return p;
}

TEST(AttachSafety, JvmInOwnPidAndMountNamespace) {
    JW_REQUIRE_ROOT();
    // The private tmpfs hides /tmp, and the build (hence the classes) may live there.
    test::TempDir cp("jw-attach-ns", "/var/tmp");
    std::filesystem::copy(test::java_classes(), cp.path(), std::filesystem::copy_options::recursive);
    std::string java_cmd = "mount -t tmpfs tmpfs /tmp && exec java -Xmx64m -cp " + cp.path() +
                           " jw.test.Sleeper";
    Child unshare(spec_of({"unshare", "--pid", "--mount", "--fork", "--mount-proc", "sh", "-c", java_cmd}));
    KillOnExit guard;
    ASSERT_TRUE(test::eventually([&] { return (guard.pid = first_child(unshare.pid())) > 0; }));
    ASSERT_TRUE(unshare.wait_for_output("ready", std::chrono::seconds(60))) << unshare.output();
    auto st = proc::read_status("/proc", guard.pid);
    ASSERT_TRUE(st);
    ASSERT_EQ(st->name, "java");
    ASSERT_NE(st->nspid(), guard.pid) << "the JVM has its own pid namespace";
    auto r = attach(guard.pid, {"jcmd", {"VM.version"}});
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_NE(r.output.find("JDK 17"), std::string::npos);
    // Its socket lives in its private /tmp, not ours.
    struct stat sb;
    EXPECT_EQ(lstat(("/proc/" + std::to_string(guard.pid) + "/root" + socket_path(st->nspid())).c_str(), &sb), 0);
    EXPECT_EQ(unshare.output().find("Full thread dump"), std::string::npos) << unshare.output();
}

TEST(AttachSafety, PlantedSocketIsRefused) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    {
        SocketFile planted(socket_path(jvm.pid()), 65534);  // another user's socket
        ASSERT_TRUE(planted.ok());
        auto r = attach(jvm.pid(), {"properties", {}});
        EXPECT_EQ(r.outcome, Outcome::untrusted_socket);
        EXPECT_FALSE(r.signalled);
        EXPECT_NE(r.detail.find("owned by uid 65534"), std::string::npos) << r.detail;
    }
    {
        std::ofstream(socket_path(jvm.pid())) << "not a socket";
        auto r = attach(jvm.pid(), {"properties", {}});
        unlink(socket_path(jvm.pid()).c_str());
        EXPECT_EQ(r.outcome, Outcome::untrusted_socket);
        EXPECT_NE(r.detail.find("not a socket"), std::string::npos) << r.detail;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    expect_no_thread_dump(jvm);
}

TEST(AttachSafety, StaleSocketIsReplaced) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    SocketFile stale(socket_path(jvm.pid()), geteuid());  // the target's uid, nobody listening
    ASSERT_TRUE(stale.ok());
    auto r = attach(jvm.pid(), {"jcmd", {"VM.version"}});
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_TRUE(r.signalled);
    expect_no_thread_dump(jvm);
}

TEST(AttachSafety, ZombieJvmIsTargetExited) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(jvm.wait_for_output("ready", std::chrono::seconds(60))) << jvm.output();
    jvm.kill(SIGKILL);  // not reaped yet: a zombie, which kill(pid, 0) would call alive
    ASSERT_TRUE(test::eventually([&] {
        auto st = proc::read_status("/proc", jvm.pid());
        return st && st->state == 'Z';
    }));
    auto r = attach(jvm.pid(), {"properties", {}});
    EXPECT_EQ(r.outcome, Outcome::target_exited) << r.detail;
    EXPECT_FALSE(r.signalled);
}

TEST(AttachSafety, NotAJvmAndNoSuchProcess) {
    JW_REQUIRE_ROOT();
    Child sleeper(spec_of({"sleep", "60"}));
    auto r = attach(sleeper.pid(), {"properties", {}});
    EXPECT_EQ(r.outcome, Outcome::not_a_jvm) << r.detail;
    EXPECT_FALSE(r.signalled);
    EXPECT_TRUE(sleeper.alive());
    pid_t gone;
    {
        Child quick(spec_of({"true"}));
        ASSERT_TRUE(quick.wait_exit(std::chrono::seconds(10)));
        gone = quick.pid();
    }
    EXPECT_EQ(attach(gone, {"properties", {}}).outcome, Outcome::no_such_process);
}

}  // namespace
}  // namespace jvmwatch::attach
