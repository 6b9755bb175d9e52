// An agent file as a process sees it (agent_artifact.h), through a fake /proc whose
// <pid>/root and <pid>/cwd are links as the kernel's are; and the evidence store.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "tests/common/support.h"
#include "tests/unit/zip_test_image.h"
#include "userspace/artifacts/agent_artifact.h"
#include "userspace/artifacts/evidence_store.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::artifacts {
namespace {

using test::TempDir;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
    std::ofstream(path, std::ios::binary) << data;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

const std::string kJar = test::build_zip({{"META-INF/MANIFEST.MF",
                                           "Manifest-Version: 1.0\nPremain-Class: p.Pre\n"
                                           "Agent-Class: p.Agent\nImplementation-Vendor: V\n", true},
                                          {"p/Pre.class", std::string(2000, 'k'), true}}).bytes;

// <dir>/proc/<pid>/{root,cwd} are links to <dir>/rootfs and <dir>/rootfs/app.
class InspectAgent : public ::testing::Test {
protected:
    static constexpr pid_t kPid = 4343;
    void SetUp() override {
        rootfs_ = dir_.path() + "/rootfs";
        proc_ = dir_.path() + "/proc";
        std::string piddir = proc_ + "/" + std::to_string(kPid);
        for (const std::string& d : {rootfs_, rootfs_ + "/app", rootfs_ + "/opt", proc_, piddir,
                                     dir_.path() + "/outside"})
            ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
        ASSERT_EQ(::symlink(rootfs_.c_str(), (piddir + "/root").c_str()), 0);
        ASSERT_EQ(::symlink((rootfs_ + "/app").c_str(), (piddir + "/cwd").c_str()), 0);
    }
    AgentArtifact inspect(const std::string& path, ArtifactLimits l = {}, EvidenceStore* ev = nullptr) {
        return inspect_agent(proc_, kPid, path, l, ev);
    }
    TempDir dir_;
    std::string rootfs_, proc_;
};

TEST_F(InspectAgent, AJarGivesItsOwnerModeMtimeHashAndManifest) {
    std::string p = rootfs_ + "/opt/a.jar";
    write_file(p, kJar, 0640);
    struct timespec times[2] = {{0, UTIME_OMIT}, {1700000000, 123456789}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
    auto a = inspect("/opt/a.jar");
    EXPECT_EQ(a.why, "");
    EXPECT_TRUE(a.found);
    EXPECT_EQ(a.resolved_in, "root");
    EXPECT_EQ(a.size, kJar.size());
    EXPECT_EQ(a.uid, geteuid());
    EXPECT_EQ(a.gid, getegid());
    EXPECT_EQ(a.mode, 0640u);
    EXPECT_EQ(a.mtime_ns, 1700000000123456789);
    EXPECT_EQ(a.sha256, policy::sha256_hex(kJar));
    EXPECT_EQ(a.content, "jar");
    ASSERT_TRUE(a.manifest) << a.manifest_why;
    EXPECT_EQ(a.manifest->premain_class, "p.Pre");
    EXPECT_EQ(a.manifest->agent_class, "p.Agent");
    EXPECT_EQ(a.manifest->implementation_vendor, "V");

    auto j = artifact_json(a);
    EXPECT_EQ(j["mode"], "0640");
    EXPECT_EQ(j["mtime"], "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(j["manifest"], (nlohmann::json{{"premain_class", "p.Pre"}, {"agent_class", "p.Agent"},
                                             {"implementation_vendor", "V"}}));
    EXPECT_FALSE(j.contains("why"));
}

// An agent deleted right after its load: the real /proc of a child that holds the jar
// open and removed it.  Found through its fd, hashed, marked open_fd.
TEST(InspectAgentHeld, AnUnlinkedFileTheProcessHoldsIsReadThroughItsFd) {
    TempDir dir("jvmwatch-held");
    std::string jar = dir.file("gone.jar");
    write_file(jar, kJar);
    test::Child::Spec spec;
    spec.argv = {"sh", "-c", "exec 3<\"$0\"; rm -f \"$0\"; echo held; exec sleep 60", jar};
    test::Child holder(spec);
    ASSERT_TRUE(holder.wait_for_output("held")) << holder.output();
    ASSERT_FALSE(std::ifstream(jar).good()) << "removed by the holder";
    AgentArtifact a = inspect_agent("/proc", holder.pid(), jar, {}, nullptr);
    EXPECT_TRUE(a.found) << a.why;
    EXPECT_EQ(a.resolved_in, "open_fd");
    EXPECT_EQ(a.sha256, policy::sha256_hex(kJar));
    ASSERT_TRUE(a.manifest);
    // Not held, not there: said so.
    AgentArtifact b = inspect_agent("/proc", holder.pid(), dir.file("never.jar"), {}, nullptr);
    EXPECT_FALSE(b.found);
    EXPECT_FALSE(b.why.empty());
}

TEST_F(InspectAgent, AnMtimeBeyondInt64NanosecondsSaturates) {
    std::string p = rootfs_ + "/opt/future.jar";
    write_file(p, "x");
    struct timespec times[2] = {{0, UTIME_OMIT}, {13'000'000'000, 5}};   // the year 2381
    if (::utimensat(AT_FDCWD, p.c_str(), times, 0) != 0) GTEST_SKIP() << "this file system refuses the date";
    struct stat st;
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    if (st.st_mtim.tv_sec != 13'000'000'000) GTEST_SKIP() << "this file system clamps dates";
    auto a = inspect("/opt/future.jar");
    EXPECT_GT(a.mtime_ns, 9'000'000'000'000'000'000);
    EXPECT_EQ(artifact_json(a)["mtime"].get<std::string>().substr(0, 4), "2262");
}

TEST_F(InspectAgent, ContentIsToldByMagicNotByName) {
    write_file(rootfs_ + "/opt/lib.jar", std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(100, '\0'));
    write_file(rootfs_ + "/opt/text.so", "just text");
    write_file(rootfs_ + "/opt/broken.jar", "PK\x03\x04 not really a zip");
    EXPECT_EQ(inspect("/opt/lib.jar").content, "native");
    EXPECT_FALSE(inspect("/opt/lib.jar").manifest);
    EXPECT_EQ(inspect("/opt/text.so").content, "unknown");
    auto b = inspect("/opt/broken.jar");
    EXPECT_EQ(b.content, "jar");
    EXPECT_FALSE(b.manifest);
    EXPECT_EQ(b.manifest_why, "not a zip: no end of central directory");
    EXPECT_EQ(b.sha256, policy::sha256_hex("PK\x03\x04 not really a zip"));   // hashed anyway
    EXPECT_EQ(artifact_json(b)["manifest_why"], "not a zip: no end of central directory");
}

TEST_F(InspectAgent, AFifoIsRefusedWithoutBeingOpened) {
    ASSERT_EQ(::mkfifo((rootfs_ + "/opt/fifo.jar").c_str(), 0644), 0);
    ASSERT_EQ(::symlink("/opt/fifo.jar", (rootfs_ + "/opt/to-fifo.jar").c_str()), 0);
    // Opening it for reading would block forever (no writer): this must return at once.
    for (const char* p : {"/opt/fifo.jar", "/opt/to-fifo.jar"}) {
        auto a = inspect(p);
        EXPECT_FALSE(a.found) << p;
        EXPECT_EQ(a.why, "a FIFO, not a regular file") << p;
        EXPECT_EQ(a.sha256, "");
        EXPECT_EQ(artifact_json(a), (nlohmann::json{{"path", p}, {"why", "a FIFO, not a regular file"}}));
    }
    ASSERT_EQ(::symlink("/dev/zero", (rootfs_ + "/opt/zero.so").c_str()), 0);
    EXPECT_FALSE(inspect("/opt/zero.so").found);   // /dev/zero of the root: absent here
}

TEST_F(InspectAgent, ASymlinkOutOfTheRootStaysInIt) {
    write_file(dir_.path() + "/outside/secret.jar", kJar);
    ASSERT_EQ(::symlink((dir_.path() + "/outside/secret.jar").c_str(), (rootfs_ + "/opt/abs.jar").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../../outside/secret.jar", (rootfs_ + "/opt/up.jar").c_str()), 0);
    for (const char* p : {"/opt/abs.jar", "/opt/up.jar", "/../outside/secret.jar"}) {
        auto a = inspect(p);
        EXPECT_FALSE(a.found) << p;
        EXPECT_EQ(a.sha256, "") << p;
        EXPECT_EQ(a.why, "No such file or directory") << p;
    }
}

TEST_F(InspectAgent, AFileOverTheHashCapGetsItsFactsButNoHash) {
    write_file(rootfs_ + "/opt/big.jar", kJar);
    ArtifactLimits l;
    l.max_hash_bytes = 100;
    auto a = inspect("/opt/big.jar", l);
    EXPECT_TRUE(a.found);
    EXPECT_EQ(a.size, kJar.size());
    EXPECT_EQ(a.sha256, "");
    EXPECT_EQ(a.why, "too large to hash");
    ASSERT_TRUE(a.manifest) << a.manifest_why;   // bounded on its own: still read
    EXPECT_EQ(a.manifest->premain_class, "p.Pre");
}

TEST_F(InspectAgent, RelativePathsResolveAgainstTheProcessCwd) {
    write_file(rootfs_ + "/app/rel.jar", kJar);
    write_file(rootfs_ + "/opt/o.jar", "other");
    EXPECT_EQ(inspect("rel.jar").sha256, policy::sha256_hex(kJar));
    EXPECT_EQ(inspect("./rel.jar").sha256, policy::sha256_hex(kJar));
    EXPECT_EQ(inspect("../opt/o.jar").sha256, policy::sha256_hex("other"));
    EXPECT_EQ(inspect("../../../../opt/o.jar").sha256, policy::sha256_hex("other"));   // ".." stops at the root
    // A cwd outside the root (the kernel shows it so after a chroot): refused.
    std::string cwd = proc_ + "/" + std::to_string(kPid) + "/cwd";
    ASSERT_EQ(::unlink(cwd.c_str()), 0);
    ASSERT_EQ(::symlink((dir_.path() + "/outside").c_str(), cwd.c_str()), 0);
    EXPECT_EQ(inspect("rel.jar").why, "relative path: cwd outside its root");
    EXPECT_EQ(inspect("/opt/o.jar").sha256, policy::sha256_hex("other"));   // absolute: unaffected
}

TEST_F(InspectAgent, AGoneProcessSaysSo) {
    auto a = inspect_agent(proc_, kPid + 1, "/opt/a.jar", {}, nullptr);
    EXPECT_FALSE(a.found);
    EXPECT_NE(a.why.find("root unreadable"), std::string::npos) << a.why;
}

// ---- evidence store -------------------------------------------------------------

mode_t mode_of(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

size_t files_in(const std::string& dir) {
    size_t n = 0;
    DIR* d = opendir(dir.c_str());
    if (!d) return 0;
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

// TempDir is 0777 (tests drop children to other users): the store wants a parent others
// cannot write to.
std::string private_parent(const TempDir& dir) {
    std::string p = dir.file("private");
    ::mkdir(p.c_str(), 0700);
    return p;
}

struct Blob {
    safefs::UniqueFd fd;
    uint64_t size;
    std::string sha;
};
Blob blob(const TempDir& dir, const std::string& name, const std::string& data) {
    std::string p = dir.file(name);
    std::ofstream(p, std::ios::binary) << data;
    return {safefs::UniqueFd(::open(p.c_str(), O_RDONLY | O_CLOEXEC)), data.size(), policy::sha256_hex(data)};
}

TEST(EvidenceStore, CopiesAreRootOnlyNamedByHashAndKeptOnce) {
    TempDir dir;
    EvidenceOptions o;
    o.dir = private_parent(dir) + "/evidence";
    std::string err;
    auto s = EvidenceStore::open(o, geteuid(), &err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(mode_of(o.dir), 0700u);
    auto b = blob(dir, "a.jar", "agent bytes");
    auto p = s->put(b.fd.get(), b.size, b.sha, &err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(*p, o.dir + "/" + b.sha);
    EXPECT_EQ(slurp(*p), "agent bytes");
    EXPECT_EQ(mode_of(*p), 0400u);
    // Deleting the source does not matter any more; the same content is not kept twice.
    ASSERT_EQ(::unlink(dir.file("a.jar").c_str()), 0);
    auto b2 = blob(dir, "b.jar", "agent bytes");
    EXPECT_EQ(s->put(b2.fd.get(), b2.size, b2.sha, &err), p);
    // A copy removed behind the store's back is written again, not reported as kept.
    ASSERT_EQ(::unlink(p->c_str()), 0);
    auto b3 = blob(dir, "c.jar", "agent bytes");
    EXPECT_EQ(s->put(b3.fd.get(), b3.size, b3.sha, &err), p) << err;
    EXPECT_EQ(slurp(*p), "agent bytes");
    auto st = s->stats();
    EXPECT_EQ(st.stored, 2u);
    EXPECT_EQ(st.deduplicated, 1u);
    EXPECT_EQ(st.files, 1u);
    EXPECT_EQ(st.bytes, 11u);
    EXPECT_EQ(files_in(o.dir), 1u);
}

TEST(EvidenceStore, BoundedByFilesAndBytesOldestEvicted) {
    TempDir dir;
    EvidenceOptions o;
    o.dir = private_parent(dir) + "/ev";
    o.max_files = 2;
    o.max_bytes = 100;
    std::string err;
    auto s = EvidenceStore::open(o, geteuid(), &err);
    ASSERT_TRUE(s) << err;
    std::vector<std::string> kept;
    for (int i = 0; i < 3; ++i) {
        auto b = blob(dir, "f" + std::to_string(i), "content " + std::to_string(i));
        auto p = s->put(b.fd.get(), b.size, b.sha, &err);
        ASSERT_TRUE(p) << err;
        kept.push_back(*p);
    }
    EXPECT_EQ(s->stats().evicted, 1u);
    EXPECT_EQ(files_in(o.dir), 2u);
    EXPECT_NE(::access(kept[0].c_str(), F_OK), 0);   // the oldest went
    EXPECT_EQ(::access(kept[2].c_str(), F_OK), 0);
    // By bytes: 95 more bytes push both out (2 x 9 + 95 > 100); 101 are refused outright.
    auto big = blob(dir, "big", std::string(95, 'b'));
    ASSERT_TRUE(s->put(big.fd.get(), big.size, big.sha, &err)) << err;
    EXPECT_EQ(s->stats().evicted, 3u);
    EXPECT_EQ(files_in(o.dir), 1u);
    auto huge = blob(dir, "huge", std::string(101, 'h'));
    EXPECT_FALSE(s->put(huge.fd.get(), huge.size, huge.sha, &err));
    EXPECT_EQ(err, "larger than artifacts.evidence_max_bytes (100)");
    EXPECT_EQ(s->stats().refused, 1u);
    EXPECT_LE(s->stats().bytes, 100u);
}

TEST(EvidenceStore, ContentThatDoesNotMatchItsHashIsNotKept) {
    TempDir dir;
    EvidenceOptions o;
    o.dir = private_parent(dir) + "/ev";
    std::string err;
    auto s = EvidenceStore::open(o, geteuid(), &err);
    ASSERT_TRUE(s) << err;
    auto b = blob(dir, "a", "now");
    EXPECT_FALSE(s->put(b.fd.get(), b.size, policy::sha256_hex("then"), &err));
    EXPECT_EQ(err, "the agent file changed while being copied");
    EXPECT_EQ(files_in(o.dir), 0u);
    EXPECT_EQ(s->stats().files, 0u);
}

TEST(EvidenceStore, AReopenedStoreKnowsItsCopiesAndNewLimits) {
    TempDir dir;
    EvidenceOptions o;
    o.dir = private_parent(dir) + "/ev";
    std::string err;
    {
        auto s = EvidenceStore::open(o, geteuid(), &err);
        ASSERT_TRUE(s) << err;
        for (int i = 0; i < 3; ++i) {
            auto b = blob(dir, "f", "c" + std::to_string(i));
            ASSERT_TRUE(s->put(b.fd.get(), b.size, b.sha, &err)) << err;
        }
    }
    std::ofstream(o.dir + "/.jvmwatch-stage-0123456789abcdef.tmp") << "half";
    o.max_files = 1;
    auto s = EvidenceStore::open(o, geteuid(), &err);
    ASSERT_TRUE(s) << err;
    EXPECT_EQ(s->stats().files, 1u);
    EXPECT_EQ(s->stats().evicted, 2u);
    EXPECT_EQ(files_in(o.dir), 1u);
    EXPECT_NE(::access((o.dir + "/.jvmwatch-stage-0123456789abcdef.tmp").c_str(), F_OK), 0);
}

TEST(EvidenceStore, AnUnsafeDirectoryIsRefused) {
    TempDir dir;
    std::string err;
    EvidenceOptions o;
    // A symlink where the directory should be.
    std::string priv = private_parent(dir);
    ASSERT_EQ(::mkdir((priv + "/real").c_str(), 0700), 0);
    ASSERT_EQ(::symlink((priv + "/real").c_str(), (priv + "/link").c_str()), 0);
    o.dir = priv + "/link";
    EXPECT_FALSE(EvidenceStore::open(o, geteuid(), &err));
    EXPECT_NE(err.find("evidence store " + o.dir + ": "), std::string::npos) << err;
    // A parent others may write to (and not sticky): they could swap the directory.
    ASSERT_EQ(::mkdir(dir.file("open").c_str(), 0777), 0);
    ASSERT_EQ(::chmod(dir.file("open").c_str(), 0777), 0);
    o.dir = dir.file("open") + "/ev";
    EXPECT_FALSE(EvidenceStore::open(o, geteuid(), &err));
    EXPECT_NE(err.find("writable by group or others"), std::string::npos) << err;
    o.dir = "relative/ev";
    EXPECT_FALSE(EvidenceStore::open(o, geteuid(), &err));
    EXPECT_EQ(err, "evidence store relative/ev: must be an absolute path");
    // An existing directory with loose modes is tightened.
    ASSERT_EQ(::mkdir((priv + "/loose").c_str(), 0755), 0);
    o.dir = priv + "/loose";
    ASSERT_TRUE(EvidenceStore::open(o, geteuid(), &err)) << err;
    EXPECT_EQ(mode_of(o.dir), 0700u);
}

TEST_F(InspectAgent, TheEvidenceCopyComesFromTheHashedDescriptor) {
    write_file(rootfs_ + "/opt/a.jar", kJar);
    EvidenceOptions o;
    ASSERT_EQ(::mkdir((dir_.path() + "/private").c_str(), 0700), 0);
    o.dir = dir_.path() + "/private/evidence";
    std::string err;
    auto s = EvidenceStore::open(o, geteuid(), &err);
    ASSERT_TRUE(s) << err;
    auto a = inspect("/opt/a.jar", {}, s.get());
    ASSERT_EQ(a.evidence, o.dir + "/" + policy::sha256_hex(kJar)) << a.evidence_why;
    ASSERT_EQ(::unlink((rootfs_ + "/opt/a.jar").c_str()), 0);
    EXPECT_EQ(slurp(a.evidence), kJar);
    EXPECT_EQ(artifact_json(a)["evidence"], a.evidence);
    // A file too large to hash is not kept either (nothing names it).
    write_file(rootfs_ + "/opt/b.jar", std::string(300, 'b'));
    ArtifactLimits l;
    l.max_hash_bytes = 10;
    auto b = inspect("/opt/b.jar", l, s.get());
    EXPECT_EQ(b.evidence, "");
    EXPECT_EQ(s->stats().files, 1u);
}

}  // namespace
}  // namespace jvmwatch::artifacts
