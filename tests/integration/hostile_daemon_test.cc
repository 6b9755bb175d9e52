// jvmwatchd among hostile processes (root, real BPF, real JVMs).  A fake `java` whose
// JAVA_HOME holds a FIFO, a device link, a huge sparse file or a symlink loop as
// `release`; an exe in a deleted directory; 1 MiB of args; an unprivileged process
// renaming a thread to JVM names 10,000 times a second; audit log and raw-event paths
// that are FIFOs, symlinks or another user's files.  For each: the daemon keeps
// reporting real JVMs, stops on SIGTERM within 2 s, and opens nothing it must not.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

using namespace jvmwatch::test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

namespace {

constexpr uid_t kNobody = 65534;

Child::Spec spec_of(std::vector<std::string> argv) {
    Child::Spec s;
    s.argv = std::move(argv);
    return s;
}

// <dir>/<name>/bin/java: a copy of /bin/sleep (not a JVM, but named like one).
std::string fake_java_home(const TempDir& dir, const std::string& name) {
    std::string home = dir.file(name);
    std::filesystem::create_directories(home + "/bin");
    std::filesystem::copy_file("/bin/sleep", home + "/bin/java");
    chmod((home + "/bin/java").c_str(), 0755);
    return home;
}

std::function<bool(const json&)> jvm_start_of(pid_t pid) {
    return [pid](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; };
}

// Starts a real JVM (java -version, short-lived) and waits for its jvm.start: complete
// (no `enrichment` field), reported within a generous bound.
void expect_real_jvm_reported(Jvmwatchd& d, const std::string& tag) {
    auto spec = java_spec({"-Djw.hostile=" + tag}, "jw.daemon.Idle", {"2"});
    Child jvm(spec);
    auto start = d.wait_for(jvm_start_of(jvm.pid()), seconds(20));
    ASSERT_TRUE(start) << "no jvm.start for a real JVM after " << tag;
    EXPECT_FALSE(start->contains("enrichment")) << start->dump();
    EXPECT_EQ((*start)["jvm"]["main"], "jw.daemon.Idle");
    EXPECT_FALSE((*start)["jvm"]["jdk_version"].get<std::string>().empty()) << start->dump();
    jvm.wait_exit(seconds(30));
}

// SIGTERM stops the daemon within 2 s (exit 0).
void expect_prompt_stop(Jvmwatchd& d) {
    auto t0 = Steady::now();
    auto st = d.stop();
    auto took = Steady::now() - t0;
    ASSERT_TRUE(st) << "jvmwatchd ignored SIGTERM";
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << d.output();
    EXPECT_LT(took, milliseconds(2000)) << "stop took "
        << std::chrono::duration_cast<milliseconds>(took).count() << " ms";
}

std::optional<json> final_stats(Jvmwatchd& d) {
    std::optional<json> s;
    for (auto& e : d.events())
        if (e["type"] == "stats" && e["final"] == true) s = e;
    return s;
}

// Runs the fake java from `home` until the daemon reported it, then a real JVM.
void run_fake_then_real(const std::string& home, const std::string& tag) {
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    Child fake(spec_of({home + "/bin/java", "30"}));
    // Reported with what is known, at the latest when its enrichment's budget ran out.
    auto fs = d.wait_for(jvm_start_of(fake.pid()), seconds(20));
    ASSERT_TRUE(fs) << "the fake java was not reported (" << tag << ")";
    EXPECT_EQ((*fs)["jvm"]["jdk_version"], "") << "nothing read from a hostile release";
    expect_real_jvm_reported(d, tag);
    expect_prompt_stop(d);
}

}  // namespace

TEST(HostileDaemon, FifoReleaseIsNeverOpenedAndBlindsNothing) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "jdk");
    std::string fifo = home + "/release";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    Child fake(spec_of({home + "/bin/java", "30"}));
    ASSERT_TRUE(d.wait_for(jvm_start_of(fake.pid()), seconds(20))) << "fake java not reported";
    expect_real_jvm_reported(d, "fifo");
    // Nobody holds the FIFO open for reading: a non-blocking writer finds no reader.
    int w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    int err = errno;
    if (w >= 0) close(w);
    EXPECT_EQ(w, -1) << "the daemon has the FIFO open for reading";
    EXPECT_EQ(err, ENXIO);
    expect_prompt_stop(d);
}

TEST(HostileDaemon, ReleaseLinkedToADevice) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "jdk");
    ASSERT_EQ(symlink("/dev/zero", (home + "/release").c_str()), 0);
    run_fake_then_real(home, "device");
}

TEST(HostileDaemon, HugeSparseRelease) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "jdk");
    std::string rel = home + "/release";
    int fd = open(rel.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, off_t{64} << 30), 0);   // 64 GiB of nothing
    close(fd);
    run_fake_then_real(home, "sparse");
}

TEST(HostileDaemon, ReleaseSymlinkLoop) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "jdk");
    ASSERT_EQ(symlink("release", (home + "/release").c_str()), 0);
    run_fake_then_real(home, "loop");
}

TEST(HostileDaemon, ExeInADeletedDirectory) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "gone");
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    // The launcher runs, and its directory disappears under it.
    Child fake2(spec_of({home + "/bin/java", "30"}));
    std::string exe_link = "/proc/" + std::to_string(fake2.pid()) + "/exe";
    ASSERT_TRUE(eventually([&] {
        std::error_code ec;
        return std::filesystem::read_symlink(exe_link, ec) == home + "/bin/java";
    })) << "the fake java did not start";
    std::filesystem::remove_all(home);
    auto fs = d.wait_for(jvm_start_of(fake2.pid()), seconds(20));
    ASSERT_TRUE(fs) << "the fake java was not reported";
    EXPECT_EQ((*fs)["jvm"]["exe"], home + "/bin/java");
    expect_real_jvm_reported(d, "deleted");
    expect_prompt_stop(d);
}

TEST(HostileDaemon, OneMebibyteOfArgs) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string home = fake_java_home(dir, "jdk");
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    // One argument is at most 128 KiB (MAX_ARG_STRLEN): 9 of 120,000 bytes.
    std::vector<std::string> argv = {home + "/bin/java"};
    for (int i = 0; i < 9; ++i) argv.push_back(std::string(120000, 'a' + i));
    argv.push_back("30");
    Child fake(spec_of(argv));
    auto fs = d.wait_for(jvm_start_of(fake.pid()), seconds(20));
    ASSERT_TRUE(fs) << "the fake java was not reported";
    // Events carry a bounded command line.
    EXPECT_LT(fs->dump().size(), size_t{64} << 10);
    expect_real_jvm_reported(d, "bigargs");
    expect_prompt_stop(d);
}

TEST(HostileDaemon, ThreadRenameFloodFromAnUnprivilegedProcess) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    chmod(dir.path().c_str(), 0755);
    std::string flood = dir.file("rename_flood");
    ASSERT_EQ(run_command({"cc", "-O2", "-o", flood, source_dir() + "/bench/rename_flood.c"}), 0);
    Jvmwatchd d({"--stats-interval", "1"});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    // The start-up scan's jobs are counted too: take a baseline before the flood.
    auto base = d.wait_for([](const json& e) { return e["type"] == "stats"; }, seconds(20));
    ASSERT_TRUE(base);
    uint64_t queued0 = (*base)["enrichment"]["queued"];
    Child::Spec fs;
    fs.argv = {flood, "10000", "8"};
    fs.uid = kNobody;
    fs.gid = kNobody;
    Child flooder(fs);
    std::this_thread::sleep_for(seconds(2));   // the flood is under way
    ASSERT_TRUE(flooder.alive()) << flooder.output();
    expect_real_jvm_reported(d, "flood");
    auto st = flooder.wait_exit(seconds(30));
    ASSERT_TRUE(st);
    EXPECT_NE(flooder.output().find("renames"), std::string::npos) << flooder.output();
    expect_prompt_stop(d);
    auto stats = final_stats(d);
    ASSERT_TRUE(stats);
    EXPECT_EQ((*stats)["kernel"]["ringbuf_drops"], 0);
    // The flooder was inspected a handful of times, not once per rename.
    EXPECT_LE((*stats)["enrichment"]["queued"].get<uint64_t>() - queued0, 100u) << stats->dump();
    // The flood was absorbed: repeats suppressed in the kernel (one milestone per image) or
    // answered in userspace by the negative cache and deduplication.
    EXPECT_GT((*stats)["kernel"]["milestone_repeats"].get<uint64_t>() +
                  (*stats)["enrichment"]["negative_cache_hits"].get<uint64_t>() +
                  (*stats)["enrichment"]["deduplicated"].get<uint64_t>(), 1000u) << stats->dump();
    for (auto& e : d.events())
        EXPECT_FALSE(e["type"] == "jvm.start" && e["jvm"]["pid"] == flooder.pid()) << e.dump();
}

namespace {

// jvmwatchd with `args`: must exit 13 promptly with one line naming `path`.
void expect_refused(const std::vector<std::string>& args, const std::string& path,
                    const std::string& why) {
    Child::Spec s;
    s.argv = {bin_path("jvmwatchd"), "--metrics-listen", "127.0.0.1:0"};
    for (auto& a : args) s.argv.push_back(a);
    Child d(s);
    auto st = d.wait_exit(seconds(20));
    ASSERT_TRUE(st) << "jvmwatchd hung on " << path;
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 13) << d.output();
    std::string out = d.output();
    size_t at = out.find(path);
    ASSERT_NE(at, std::string::npos) << out;
    size_t bol = out.rfind('\n', at);
    bol = bol == std::string::npos ? 0 : bol + 1;
    std::string line = out.substr(bol, out.find('\n', at) - bol);
    EXPECT_NE(line.find(why), std::string::npos) << line;
    EXPECT_NE(line.find("error"), std::string::npos) << line;
}

}  // namespace

TEST(HostileDaemon, AuditLogThatIsAFifoSymlinkOrForeignFileIsRefused) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string fifo = dir.file("fifo.log");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0666), 0);
    expect_refused({"--audit-log", fifo}, fifo, "FIFO");
    // Nothing holds it open: a non-blocking writer finds no reader.
    int w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_EQ(w, -1);
    if (w >= 0) close(w);

    std::string target = dir.file("elsewhere");
    std::string link = dir.file("link.log");
    ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
    expect_refused({"--audit-log", link}, link, "symlink");
    EXPECT_FALSE(std::filesystem::exists(target)) << "followed the symlink";

    std::string foreign = dir.file("foreign.log");
    { std::ofstream(foreign) << "x\n"; }
    ASSERT_EQ(chown(foreign.c_str(), kNobody, kNobody), 0);
    expect_refused({"--audit-log", foreign}, foreign, "owned by uid 65534");

    std::string raw_fifo = dir.file("raw.fifo");
    ASSERT_EQ(mkfifo(raw_fifo.c_str(), 0666), 0);
    expect_refused({"--audit-log", dir.file("ok.log"), "--record-raw", raw_fifo}, raw_fifo, "FIFO");
}

TEST(HostileDaemon, OwnFilesGetTheirModes) {
    JW_REQUIRE_ROOT();
    TempDir dir("jw-hostile");
    std::string raw = dir.file("raw.jsonl");
    {
        mode_t old = umask(0);
        Jvmwatchd d({"--record-raw", raw});
        umask(old);
        ASSERT_TRUE(d.wait_ready()) << d.output();
        struct stat st;
        ASSERT_EQ(stat(d.log_path().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0640u);
        ASSERT_EQ(stat(raw.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0600u);
        expect_prompt_stop(d);
    }
}
