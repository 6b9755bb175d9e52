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
    std::optional<StagedAgent> stage(uid_t uid = 0, gid_t gid = 0) {
        err_.clear();
        return stage_agent("/proc", ns_->pid(), uid, gid, agent_, &err_);
    }
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

TEST_F(InjectStage, SameNamespaceUsesTheOriginalPath) {
    JW_REQUIRE_ROOT();
    std::string err;
    auto s = stage_agent("/proc", getpid(), 0, 0, agent_, &err);
    ASSERT_TRUE(s) << err;
    EXPECT_FALSE(s->staged);
    EXPECT_EQ(s->target_path, agent_);
}

}  // namespace
}  // namespace jvmwatch::inject
