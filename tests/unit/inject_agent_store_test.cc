// The agent store (STATE_DIR/agents): content-named, read-only copies written from the
// checked fd, verified before reuse, never read through when the size is wrong.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/common/support.h"
#include "userspace/inject/agent_store.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::inject {
namespace {

using test::TempDir;

std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class InjectAgentStore : public ::testing::Test {
protected:
    void SetUp() override {
        chmod(dir_.path().c_str(), 0755);  // TempDir is 0777: the agent check refuses that
        agent_ = dir_.file("agent.jar");
        std::ofstream(agent_) << "PK agent bytes";
        chmod(agent_.c_str(), 0644);
        state_ = dir_.file("state");
        ASSERT_EQ(mkdir(state_.c_str(), 0700), 0);
    }
    policy::AgentSource source() {
        std::string why;
        auto s = policy::open_agent_source(agent_, std::nullopt, geteuid(), &why);
        EXPECT_TRUE(s) << why;
        return s ? std::move(*s) : policy::AgentSource{};
    }
    std::unique_ptr<AgentStore> open_store() {
        std::string err;
        auto s = AgentStore::open(state_, geteuid(), &err);
        EXPECT_TRUE(s) << err;
        return s;
    }
    std::string stored() const {
        return state_ + "/agents/" + policy::sha256_hex("PK agent bytes") + ".jar";
    }

    TempDir dir_{"jw-store"};
    std::string agent_, state_;
};

TEST_F(InjectAgentStore, WritesAReadOnlyCopyNamedByItsHashInASearchableDirectory) {
    auto store = open_store();
    ASSERT_TRUE(store);
    std::string err;
    auto path = store->put(source(), policy::AgentKind::java, &err);
    ASSERT_TRUE(path) << err;
    EXPECT_EQ(*path, stored());
    EXPECT_EQ(slurp(*path), "PK agent bytes");
    struct stat st;
    ASSERT_EQ(lstat(path->c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, geteuid());
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    ASSERT_EQ(lstat((state_ + "/agents").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);  // JVMs of any user open it; nobody lists or writes
    ASSERT_EQ(lstat(state_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0711u);  // made searchable from 0700
    EXPECT_EQ(store->path_for(policy::sha256_hex("x"), policy::AgentKind::native),
              state_ + "/agents/" + policy::sha256_hex("x") + ".so");
}

TEST_F(InjectAgentStore, ReusesAVerifiedCopyAndReplacesATamperedOne) {
    auto store = open_store();
    std::string err;
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    struct stat a, b;
    ASSERT_EQ(stat(stored().c_str(), &a), 0);
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    ASSERT_EQ(stat(stored().c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);  // reused
    // Same size, other bytes (as after a disk error or a tamperer with root): replaced.
    chmod(stored().c_str(), 0644);
    std::ofstream(stored()) << "PK evil bytes!";
    chmod(stored().c_str(), 0444);
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    EXPECT_EQ(slurp(stored()), "PK agent bytes");
    // No temp file left behind.
    int files = 0;
    for (auto& e : std::filesystem::directory_iterator(state_ + "/agents")) { (void)e; ++files; }
    EXPECT_EQ(files, 1);
}

// A huge sparse file under the name is replaced without being read: its size differs.
TEST_F(InjectAgentStore, OversizedCopyIsReplacedWithoutBeingRead) {
    auto store = open_store();
    std::string err;
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    ASSERT_EQ(chmod(stored().c_str(), 0644), 0);
    ASSERT_EQ(truncate(stored().c_str(), 200ll << 30), 0);  // 200 GiB
    struct timespec times[2] = {{1000, 0}, {0, UTIME_OMIT}};
    ASSERT_EQ(utimensat(AT_FDCWD, stored().c_str(), times, 0), 0);
    int old_fd = open(stored().c_str(), O_PATH | O_CLOEXEC);
    ASSERT_GE(old_fd, 0);
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    struct stat st;
    ASSERT_EQ(fstat(old_fd, &st), 0);
    close(old_fd);
    EXPECT_EQ(st.st_atim.tv_sec, 1000);  // never read (relatime would have moved it)
    EXPECT_EQ(slurp(stored()), "PK agent bytes");
}

TEST_F(InjectAgentStore, ALinkOrAForeignFileUnderTheNameIsNeverTrusted) {
    auto store = open_store();
    std::string victim = dir_.file("victim");
    std::ofstream(victim) << "PK agent bytes";  // same bytes, but reached by a link
    ASSERT_EQ(symlink(victim.c_str(), stored().c_str()), 0);
    std::string err;
    ASSERT_TRUE(store->put(source(), policy::AgentKind::java, &err)) << err;
    struct stat st;
    ASSERT_EQ(lstat(stored().c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(slurp(victim), "PK agent bytes");
}

TEST_F(InjectAgentStore, RefusesAnUnsafeStoreDirectory) {
    ASSERT_EQ(mkdir((state_ + "/agents").c_str(), 0777), 0);
    chmod((state_ + "/agents").c_str(), 0777);
    std::string err;
    EXPECT_FALSE(AgentStore::open(state_, geteuid(), &err));
    EXPECT_NE(err.find("writable by group or others"), std::string::npos) << err;
    rmdir((state_ + "/agents").c_str());
    ASSERT_EQ(symlink(dir_.path().c_str(), (state_ + "/agents").c_str()), 0);
    EXPECT_FALSE(AgentStore::open(state_, geteuid(), &err));
    EXPECT_NE(err.find("symlink"), std::string::npos) << err;
    unlink((state_ + "/agents").c_str());
    EXPECT_FALSE(AgentStore::open(state_, geteuid() + 1, &err));  // not ours
    EXPECT_NE(err.find("is owned by uid"), std::string::npos) << err;
}

}  // namespace
}  // namespace jvmwatch::inject
