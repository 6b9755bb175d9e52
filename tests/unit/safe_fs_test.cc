// safefs against hostile trees: links out of a root, FIFOs, devices, loops, big files;
// every case with openat2 and with the component walk older kernels get.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "attach/safe_fs.h"
#include "tests/common/support.h"

namespace jvmwatch::safefs {
namespace {

class SafeFs : public ::testing::TestWithParam<bool> {
protected:
    void SetUp() override {
        force_component_walk(GetParam());
        root_ = dir_.path() + "/root";
        outside_ = dir_.path() + "/outside";
        mkdir(root_.c_str(), 0755);
        mkdir(outside_.c_str(), 0755);
        mkdir((root_ + "/etc").c_str(), 0755);
        mkdir((root_ + "/jdk").c_str(), 0755);
        write(root_ + "/jdk/release", "JAVA_VERSION=\"17\"\n");
        write(outside_ + "/secret", "host secret\n");
        write(root_ + "/etc/secret", "in-root secret\n");
        rootfd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(rootfd_);
    }
    void TearDown() override { force_component_walk(false); }
    static void write(const std::string& p, const std::string& text) {
        std::ofstream(p) << text;
    }
    void link(const std::string& target, const std::string& at) {
        ASSERT_EQ(::symlink(target.c_str(), (root_ + at).c_str()), 0) << at;
    }
    std::optional<std::string> in_root(const std::string& path, Failure* f = nullptr,
                                       size_t max = 4096, bool* trunc = nullptr) {
        return read_file(rootfd_.get(), path, Resolve::in_root, max, {}, f, trunc);
    }

    test::TempDir dir_{"jw-safefs"};
    std::string root_, outside_;
    UniqueFd rootfd_;
};

TEST_P(SafeFs, ReadsAPlainFileInsideTheRoot) {
    EXPECT_EQ(in_root("/jdk/release"), "JAVA_VERSION=\"17\"\n");
    EXPECT_EQ(in_root("jdk/./release"), "JAVA_VERSION=\"17\"\n");
}

TEST_P(SafeFs, AbsoluteSymlinkResolvesInsideTheRootNotOnTheHost) {
    // /etc/secret exists both outside (as outside_/secret via an absolute link) and inside.
    link(outside_ + "/secret", "/jdk/escape");
    Failure f;
    EXPECT_FALSE(in_root("/jdk/escape", &f)) << "followed an absolute link out of the root";
    link("/etc/secret", "/jdk/abs");
    EXPECT_EQ(in_root("/jdk/abs"), "in-root secret\n");
}

TEST_P(SafeFs, DotDotStopsAtTheRoot) {
    EXPECT_EQ(in_root("/../../../etc/secret"), "in-root secret\n");
    link("../../../../../etc/secret", "/jdk/up");
    EXPECT_EQ(in_root("/jdk/up"), "in-root secret\n");
}

TEST_P(SafeFs, FifoIsRefusedWithoutBlocking) {
    ASSERT_EQ(mkfifo((root_ + "/jdk/fifo").c_str(), 0644), 0);
    Failure f;
    EXPECT_FALSE(in_root("/jdk/fifo", &f));
    EXPECT_NE(f.why.find("FIFO"), std::string::npos) << f.why;
}

TEST_P(SafeFs, LinkToADeviceIsRefusedBeforeAnyOpenOfIt) {
    link("/dev/null", "/jdk/dev");  // resolves in the root: no /dev there
    Failure f;
    EXPECT_FALSE(in_root("/jdk/dev", &f));
    // Without a root, refusing symlinks: the link itself is not followed.
    std::string host_link = dir_.path() + "/devlink";
    ASSERT_EQ(::symlink("/dev/zero", host_link.c_str()), 0);
    EXPECT_FALSE(read_file(AT_FDCWD, host_link, Resolve::no_symlinks, 10, {}, &f));
    // And a device itself, opened as O_PATH only: refused by type.
    EXPECT_FALSE(read_file(AT_FDCWD, "/dev/zero", Resolve::no_symlinks, 10, {}, &f));
    EXPECT_NE(f.why.find("character device"), std::string::npos) << f.why;
}

TEST_P(SafeFs, SymlinkLoopFails) {
    link("/jdk/b", "/jdk/a");
    link("/jdk/a", "/jdk/b");
    Failure f;
    EXPECT_FALSE(in_root("/jdk/a", &f));
    EXPECT_EQ(f.err, ELOOP) << f.why;
}

TEST_P(SafeFs, NoSymlinksRefusesALinkAnywhereOnThePath) {
    ASSERT_EQ(::symlink((root_ + "/jdk").c_str(), (dir_.path() + "/jdklink").c_str()), 0);
    Failure f;
    EXPECT_FALSE(read_file(AT_FDCWD, dir_.path() + "/jdklink/release", Resolve::no_symlinks, 100, {}, &f));
    EXPECT_EQ(read_file(AT_FDCWD, root_ + "/jdk/release", Resolve::no_symlinks, 100),
              "JAVA_VERSION=\"17\"\n");
}

TEST_P(SafeFs, CapsWhatItReadsAndSaysSo) {
    int fd = ::open((root_ + "/big").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, off_t(1) << 40), 0);  // 1 TiB sparse
    ::close(fd);
    bool trunc = false;
    auto text = in_root("/big", nullptr, 1000, &trunc);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->size(), 1000u);
    EXPECT_TRUE(trunc);
    trunc = true;
    EXPECT_TRUE(in_root("/jdk/release", nullptr, 18, &trunc));
    EXPECT_FALSE(trunc) << "exactly at the cap is not truncated";
}

TEST_P(SafeFs, ChecksTypeOwnerAndMode) {
    struct stat st;
    Expect dir;
    dir.kinds = Kind::directory;
    EXPECT_TRUE(open_path(rootfd_.get(), "/jdk", Resolve::in_root, dir, &st));
    Failure f;
    EXPECT_FALSE(open_path(rootfd_.get(), "/jdk/release", Resolve::in_root, dir, &st, &f));
    Expect owned;
    owned.owner = getuid() + 1;
    EXPECT_FALSE(open_path(rootfd_.get(), "/jdk/release", Resolve::in_root, owned, &st, &f));
    EXPECT_NE(f.why.find("owned by uid"), std::string::npos);
    chmod((root_ + "/jdk/release").c_str(), 0666);
    Expect strict;
    strict.not_writable_by_others = true;
    EXPECT_FALSE(open_path(rootfd_.get(), "/jdk/release", Resolve::in_root, strict, &st, &f));
}

INSTANTIATE_TEST_SUITE_P(Backends, SafeFs, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "walk" : "openat2"; });

TEST(SafeFsPaths, RelativeToRoot) {
    EXPECT_EQ(relative_to_root("/a/b"), "a/b");
    EXPECT_EQ(relative_to_root("///"), ".");
    EXPECT_EQ(relative_to_root(""), ".");
    EXPECT_EQ(relative_to_root("x"), "x");
}

}  // namespace
}  // namespace jvmwatch::safefs
