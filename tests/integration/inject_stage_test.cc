// Staging an agent into a process with a private /tmp (own mount namespace): exclusive
// create, owner, mode, content-hash name, verified reuse, no link followed.  Root only.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attach/procfs.h"
#include "tests/common/support.h"
#include "userspace/inject/agent_stager.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::inject {
namespace {

namespace fs = std::filesystem;
using test::Child;
using test::eventually;

std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class InjectStage : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_root()) return;
        agent_ = dir_.file("agent.jar");
        std::ofstream(agent_) << "agent content " << getpid();
        // A "container": `sleep` with its own mount namespace and a private tmpfs /tmp.
        Child::Spec s;
        s.argv = {"unshare", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /tmp && exec sleep 60"};
        ns_ = std::make_unique<Child>(s);
        ASSERT_TRUE(eventually([&] {
            auto cmd = proc::read_cmdline("/proc", ns_->pid());
            return !cmd.empty() && cmd[0] == "sleep";
        }));
        root_tmp_ = "/proc/" + std::to_string(ns_->pid()) + "/root/tmp/";
    }
    // The agent as the injector hands it over: an open fd, its size and hash.
    policy::AgentSource source() {
        policy::AgentSource src;
        src.fd.reset(open(agent_.c_str(), O_RDONLY | O_CLOEXEC));
        std::string text = slurp(agent_);
        src.size = text.size();
        src.sha256 = policy::sha256_hex(text);
        return src;
    }
    std::optional<StagedAgent> stage(uid_t uid = 0, gid_t gid = 0) {
        err_.clear();
        auto target = TargetProcess::open("/proc", ns_->pid(), start_ticks(ns_->pid()), &err_);
        if (!target) return std::nullopt;
        return stage_agent("/proc", *target, uid, gid, source(), policy::AgentKind::java, &err_);
    }
    static uint64_t start_ticks(pid_t pid) { return proc::read_stat("/proc", pid)->start_time_ticks; }
    std::string expected_name() {
        return ".jvmwatch-agent-" + policy::sha256_hex(slurp(agent_)).substr(0, 32) + ".jar";
    }

    test::TempDir dir_{"jw-stage"};
    std::string agent_, root_tmp_, err_;
    std::unique_ptr<Child> ns_;
};

TEST_F(InjectStage, CopiesIntoTheTargetsTmpUnderAHashNameOwnedByTheTarget) {
    JW_REQUIRE_ROOT();
    ASSERT_TRUE(in_other_mount_ns("/proc", ns_->pid()));
    auto s = stage(65534, 65534);
    ASSERT_TRUE(s) << err_;
    EXPECT_TRUE(s->staged);
    EXPECT_FALSE(s->reused);
    EXPECT_EQ(s->target_path, "/tmp/" + expected_name());
    EXPECT_EQ(s->host_path, root_tmp_ + expected_name());
    struct stat st;
    ASSERT_EQ(lstat(s->host_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    EXPECT_EQ(slurp(s->host_path), slurp(agent_));
    EXPECT_FALSE(fs::exists("/tmp/" + expected_name()));  // not in our /tmp
    // No temp file is left behind.
    int files = 0;
    for (auto& e : fs::directory_iterator(root_tmp_)) files += e.is_regular_file();
    EXPECT_EQ(files, 1);
}

TEST_F(InjectStage, ReusesAVerifiedIdenticalCopy) {
    JW_REQUIRE_ROOT();
    auto a = stage();
    ASSERT_TRUE(a) << err_;
    struct stat st1, st2;
    ASSERT_EQ(stat(a->host_path.c_str(), &st1), 0);
    auto b = stage();
    ASSERT_TRUE(b) << err_;
    EXPECT_TRUE(b->reused);
    ASSERT_EQ(stat(b->host_path.c_str(), &st2), 0);
    EXPECT_EQ(st1.st_ino, st2.st_ino);
}

TEST_F(InjectStage, ReplacesATamperedCopyAndNeverFollowsALink) {
    JW_REQUIRE_ROOT();
    std::string name = root_tmp_ + expected_name();
    // Someone else's file with other bytes under the hash name: not reused.
    std::ofstream(name) << "evil";
    ASSERT_EQ(chown(name.c_str(), 12345, 12345), 0);
    auto s = stage();
    ASSERT_TRUE(s) << err_;
    EXPECT_FALSE(s->reused);
    EXPECT_EQ(slurp(name), slurp(agent_));
    // A symlink planted under the name, pointing at a file of ours: replaced, the target
    // of the link untouched.
    std::string victim = dir_.file("victim");
    std::ofstream(victim) << "keep me";
    fs::remove(name);
    fs::create_symlink(victim, name);
    s = stage();
    ASSERT_TRUE(s) << err_;
    EXPECT_FALSE(s->reused);
    struct stat st;
    ASSERT_EQ(lstat(name.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(slurp(victim), "keep me");
}

TEST_F(InjectStage, TargetIsPinnedByStartTime) {
    JW_REQUIRE_ROOT();
    std::string why;
    pid_t pid = ns_->pid();
    auto t = TargetProcess::open("/proc", pid, start_ticks(pid), &why);
    ASSERT_TRUE(t) << why;
    EXPECT_TRUE(t->other_mount_ns());
    // Another start time: by now another process under the same pid.
    EXPECT_FALSE(TargetProcess::open("/proc", pid, start_ticks(pid) + 1, &why));
    EXPECT_EQ(why, "the JVM exited");
    auto self = TargetProcess::open("/proc", getpid(), start_ticks(getpid()), &why);
    ASSERT_TRUE(self) << why;
    EXPECT_FALSE(self->other_mount_ns());
    // Once the process is gone, its pinned dirfd answers nothing, whatever holds the pid.
    ns_.reset();
    std::string ignored;
    EXPECT_FALSE(t->root(&ignored));
}

// A huge sparse file planted under the hash name must not be read through (it would hold
// a worker for minutes): its size differs, so it is replaced without being hashed.
TEST_F(InjectStage, OversizedExistingCopyIsReplacedWithoutBeingRead) {
    JW_REQUIRE_ROOT();
    std::string name = root_tmp_ + expected_name();
    {
        std::ofstream(name) << "x";
    }
    ASSERT_EQ(truncate(name.c_str(), 200ll << 30), 0);  // 200 GiB, sparse
    ASSERT_EQ(chmod(name.c_str(), 0444), 0);
    // atime older than mtime: any read would move it (relatime).
    struct timespec times[2] = {{1000, 0}, {0, UTIME_OMIT}};
    ASSERT_EQ(utimensat(AT_FDCWD, name.c_str(), times, 0), 0);
    int old_fd = open(name.c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(old_fd, 0);
    auto s = stage();
    ASSERT_TRUE(s) << err_;
    EXPECT_FALSE(s->reused);
    EXPECT_EQ(slurp(name), slurp(agent_));
    struct stat st;
    ASSERT_EQ(fstat(old_fd, &st), 0);
    close(old_fd);
    EXPECT_EQ(st.st_atim.tv_sec, 1000);  // never read
}

}  // namespace
}  // namespace jvmwatch::inject
