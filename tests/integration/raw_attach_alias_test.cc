// The raw attach client (tests/common/raw_attach.h) reaches a real JDK 17 JVM through
// each kind of alias of its .java_pid socket: a symlink, a hard link and a renamed
// socket, and a connection handed over by another process (issue 8's evasions; no daemon
// here: the daemon tests audit the same attaches).
// The JVM keeps answering on its own name afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "jvmwatch/attach.h"
#include "tests/common/raw_attach.h"
#include "tests/common/support.h"
#include "tests/integration/shared_jvm_fixture.h"

namespace jvmwatch::test {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);   // generous: the machine is shared

class RawAttachAlias : public SharedJvmTest, public ::testing::WithParamInterface<AliasKind> {
protected:
    static pid_t pid() { return jvm_->pid(); }
    static std::string socket_path() { return "/tmp/.java_pid" + std::to_string(pid()); }

    // Brings the JVM's listener up with the attach engine (trigger file + SIGQUIT): the
    // raw client does no handshake.
    void listener_up() {
        attach::Options o;
        o.timeout = kTimeout;
        auto r = attach::run(pid(), {"properties", {}}, o);
        ASSERT_EQ(r.outcome, attach::Outcome::ok) << r.detail;
        struct stat st{};
        ASSERT_EQ(lstat(socket_path().c_str(), &st), 0);
        ASSERT_TRUE(S_ISSOCK(st.st_mode));
    }
};

TEST_P(RawAttachAlias, PropertiesAnswerThroughTheAlias) {
    ASSERT_NO_FATAL_FAILURE(listener_up());
    // The alias must be on the socket's file system for a hard link or a rename.
    TempDir dir("jvmwatch-alias", "/tmp");
    {
        auto alias = make_alias(GetParam(), socket_path(), dir.path());
        struct stat st{};
        ASSERT_EQ(lstat(alias.path().c_str(), &st), 0);
        switch (GetParam()) {
            case AliasKind::symlink: EXPECT_TRUE(S_ISLNK(st.st_mode)); break;
            case AliasKind::hard_link:
                EXPECT_TRUE(S_ISSOCK(st.st_mode));
                EXPECT_EQ(st.st_nlink, 2u);
                break;
            case AliasKind::rename:
                EXPECT_TRUE(S_ISSOCK(st.st_mode));
                EXPECT_NE(lstat(socket_path().c_str(), &st), 0) << "the socket's own name is gone";
                break;
        }
        auto r = raw_attach(alias.path(), "properties", {}, kTimeout);
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.code, 0);
        EXPECT_NE(r.text.find("java.specification.version=17"), std::string::npos) << r.text.substr(0, 500);
    }
    // Undone: the socket has its own name and only it; the JVM answers there, warm.
    struct stat st{};
    ASSERT_EQ(lstat(socket_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_NE(lstat(dir.file(std::string("alias-") + to_string(GetParam())).c_str(), &st), 0);
    attach::Options o;
    o.timeout = kTimeout;
    auto warm = attach::run(pid(), {"properties", {}}, o);
    ASSERT_EQ(warm.outcome, attach::Outcome::ok) << warm.detail;
    EXPECT_FALSE(warm.signalled);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RawAttachAlias,
                         ::testing::Values(AliasKind::symlink, AliasKind::hard_link, AliasKind::rename),
                         [](const auto& info) {
                             switch (info.param) {
                                 case AliasKind::symlink: return std::string("Symlink");
                                 case AliasKind::hard_link: return std::string("HardLink");
                                 default: return std::string("Rename");
                             }
                         });

class RawAttach : public SharedJvmTest {};

// The raw client on the socket's own name: a jcmd, and an unknown operation (the JVM's
// own error, code and text).
TEST_F(RawAttach, OwnNameJcmdAndUnknownOperation) {
    attach::Options o;
    o.timeout = kTimeout;
    ASSERT_EQ(attach::run(jvm_->pid(), {"properties", {}}, o).outcome, attach::Outcome::ok);
    std::string sock = "/tmp/.java_pid" + std::to_string(jvm_->pid());
    auto r = raw_attach(sock, "jcmd", {"VM.version"}, kTimeout);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.text.find("JDK 17"), std::string::npos) << r.text;
    auto bad = raw_attach(sock, "no-such-op", {}, kTimeout);
    ASSERT_TRUE(bad.ok) << bad.error;
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.text.find("no-such-op"), std::string::npos) << bad.text;
}

// A connection made by a child that exits after handing the fd over: the request written
// on it is answered all the same (the JVM's peer is the child, long gone).
TEST_F(RawAttach, FdPassedFromAnotherProcess) {
    attach::Options o;
    o.timeout = kTimeout;
    ASSERT_EQ(attach::run(jvm_->pid(), {"properties", {}}, o).outcome, attach::Outcome::ok);
    pid_t connector = -1;
    std::string err;
    int fd = connect_in_child("/tmp/.java_pid" + std::to_string(jvm_->pid()), &connector, &err);
    ASSERT_GE(fd, 0) << err;
    EXPECT_GT(connector, 0);
    EXPECT_NE(connector, getpid());
    EXPECT_NE(kill(connector, 0), 0) << "the connector was reaped";
    auto r = raw_attach_fd(fd, "properties", {}, kTimeout);
    close(fd);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.text.find("java.specification.version=17"), std::string::npos);
}

TEST(RawAttachClient, NoSocketIsAConnectError) {
    TempDir dir("jvmwatch-raw");
    auto r = raw_attach(dir.file("nothing"), "properties", {}, std::chrono::seconds(5));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "connect: No such file or directory");
}

}  // namespace
}  // namespace jvmwatch::test
