// The audit writer: envelope, append-only file with mode 0640, size rotation, and a
// bounded queue that drops (and counts) instead of blocking the producer.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "tests/common/support.h"
#include "tests/unit/daemon_test_support.h"
#include "userspace/audit/async_event_sink.h"

using namespace jvmwatch::audit;
using jvmwatch::test::TempDir;

namespace {
std::vector<nlohmann::json> read_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
}
nlohmann::json stop_event(int i) {
    return {{"type", "daemon.stop"}, {"pid", i}, {"reason", "test"}, {"uptime_s", 0}};
}
}  // namespace

TEST(AuditSink, WritesEnvelopedLinesAppendOnlyMode0640) {
    TempDir dir;
    std::string path = dir.file("audit.log");
    {
        std::ofstream pre(path);
        pre << "{\"earlier\":true}\n";
    }
    chmod(path.c_str(), 0640);
    SinkOptions o;
    o.file.path = path;
    o.host = "testhost";
    AsyncEventSink sink(o);
    std::string err;
    ASSERT_TRUE(sink.start(&err)) << err;
    for (int i = 0; i < 3; ++i) sink.emit(stop_event(i));
    sink.stop();
    auto lines = read_lines(path);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_TRUE(lines[0]["earlier"]);   // appended, not truncated
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(lines[i]["seq"], i);
        EXPECT_EQ(lines[i]["host"], "testhost");
        EXPECT_EQ(lines[i]["v"], kSchemaVersion);
        jvmwatch::test::expect_valid_event(lines[i]);
    }
    EXPECT_EQ(sink.written(), 3u);
    EXPECT_EQ(sink.dropped(), 0u);

    TempDir dir2;
    std::string fresh = dir2.file("new.log");
    SinkOptions o2;
    o2.file.path = fresh;
    AsyncEventSink s2(o2);
    ASSERT_TRUE(s2.start(&err));
    s2.stop();
    struct stat st;
    ASSERT_EQ(stat(fresh.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(AuditSink, RotatesBySizeKeepingN) {
    TempDir dir;
    std::string path = dir.file("a.log");
    SinkOptions o;
    o.file.path = path;
    o.file.rotate_bytes = 600;
    o.file.rotate_keep = 2;
    AsyncEventSink sink(o);
    std::string err;
    ASSERT_TRUE(sink.start(&err)) << err;
    for (int i = 0; i < 40; ++i) {
        sink.emit(stop_event(i));
        if (i % 3 == 0) sink.flush();   // several batches, so rotation happens between them
    }
    sink.stop();
    EXPECT_GT(sink.rotations(), 2u);
    EXPECT_TRUE(access(path.c_str(), F_OK) == 0);
    EXPECT_TRUE(access((path + ".1").c_str(), F_OK) == 0);
    EXPECT_TRUE(access((path + ".2").c_str(), F_OK) == 0);
    EXPECT_FALSE(access((path + ".3").c_str(), F_OK) == 0) << "only rotate_keep files are kept";
    // Every kept file holds whole, valid lines, the newest in PATH; no file grossly over the limit.
    uint64_t last_seq_1 = 0, first_seq_0 = 0;
    for (const std::string& p : {path + ".1", path}) {
        auto lines = read_lines(p);
        ASSERT_FALSE(lines.empty()) << p;
        for (auto& l : lines) jvmwatch::test::expect_valid_event(l);
        if (p == path) first_seq_0 = lines.front()["seq"];
        else last_seq_1 = lines.back()["seq"];
        struct stat st;
        stat(p.c_str(), &st);
        EXPECT_LT(st.st_size, 600 * 4);
    }
    EXPECT_EQ(first_seq_0, last_seq_1 + 1) << "rotation loses no event between files";
    EXPECT_EQ(read_lines(path).back()["seq"], 40);
}

namespace {
// Points the process's stdout (the sink's "" output) at `fd` for a scope.  The audit
// log itself refuses FIFOs and devices, so a stalled or failing output is tested here.
class StdoutTo {
public:
    explicit StdoutTo(int fd) : saved_(dup(STDOUT_FILENO)) {
        fflush(stdout);
        dup2(fd, STDOUT_FILENO);
    }
    ~StdoutTo() { restore(); }
    void restore() {
        if (saved_ < 0) return;
        fflush(stdout);
        dup2(saved_, STDOUT_FILENO);
        close(saved_);
        saved_ = -1;
    }
private:
    int saved_;
};
}  // namespace

TEST(AuditSink, FullQueueDropsAndCountsWithoutBlocking) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    int rd = p[0];
    StdoutTo redirect(p[1]);
    close(p[1]);
    SinkOptions o;
    o.file.path = "";     // stdout: a pipe nobody reads yet, the writer blocks once it is full
    o.queue_capacity = 16;
    auto sink = std::make_unique<AsyncEventSink>(o);
    std::string err;
    ASSERT_TRUE(sink->start(&err)) << err;
    nlohmann::json big = {{"type", "attach"}, {"pad", std::string(4096, 'x')}};
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) sink->emit(big);
    auto took = std::chrono::steady_clock::now() - t0;
    uint64_t dropped = sink->dropped();
    // Control events have a reserve: the report of the drops is not dropped itself.
    sink->emit(stop_event(1));
    uint64_t dropped_after = sink->dropped();
    uint64_t emitted = sink->emitted();
    // Let the writer finish: read everything until the write end closes.
    size_t lines = 0;
    std::thread reader([&] {
        char buf[65536];
        ssize_t n;
        while ((n = read(rd, buf, sizeof buf)) > 0)
            for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
    });
    sink->stop();
    uint64_t written = sink->written();
    sink.reset();
    redirect.restore();   // the last write end: the reader sees EOF
    reader.join();
    close(rd);
    EXPECT_LT(took, std::chrono::seconds(5)) << "emit() must not wait for the output";
    EXPECT_GT(dropped, 0u);
    EXPECT_EQ(emitted, 201u);
    EXPECT_EQ(dropped_after, dropped);
    EXPECT_EQ(written + dropped, 201u);
    EXPECT_EQ(lines, written);
}

TEST(AuditSink, UnwritablePathFailsWithOneLine) {
    SinkOptions o;
    o.file.path = "/nonexistent-dir/x/audit.log";
    AsyncEventSink sink(o);
    std::string err;
    EXPECT_FALSE(sink.start(&err));
    EXPECT_NE(err.find("/nonexistent-dir/x/audit.log"), std::string::npos);
    EXPECT_EQ(err.find('\n'), std::string::npos);
}

TEST(AuditSink, OutputFailuresAreCountedAsLost) {
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(full, 0);
    StdoutTo redirect(full);   // every write fails with ENOSPC
    close(full);
    SinkOptions o;
    o.file.path = "";
    AsyncEventSink sink(o);
    std::string err;
    ASSERT_TRUE(sink.start(&err)) << err;
    for (int i = 0; i < 3; ++i) sink.emit(stop_event(i));
    sink.stop();
    EXPECT_EQ(sink.written(), 0u);
    EXPECT_GE(sink.write_errors(), 1u);
    EXPECT_EQ(sink.write_lost(), 3u);
}
