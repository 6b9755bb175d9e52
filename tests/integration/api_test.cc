// The local API end to end (docs/api.md): a real jvmwatchd serving --api-socket in a
// temp dir, real JVMs, the real `jvmwatch ps/events/status` (root).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"
#include "userspace/cli/commands.h"

namespace jvmwatch::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct CliRun {
    int code = -1;
    std::string out, err;
};

// The CLI with stdout and stderr apart (a shell redirect into the temp dir).
CliRun jvmwatch_cli(const TempDir& dir, const std::vector<std::string>& args, const std::string& as_user = "") {
    std::string cmd;
    if (!as_user.empty()) cmd = "setpriv --reuid=" + as_user + " --regid=" + as_user + " --clear-groups ";
    cmd += "'" + bin_path("jvmwatch") + "'";
    for (auto& a : args) cmd += " '" + a + "'";
    std::string errf = dir.file("cli.err");
    CliRun r;
    r.code = run_command({"sh", "-c", cmd + " 2>'" + errf + "'"}, &r.out, 60s);
    std::ifstream in(errf);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    return r;
}

std::string abs(const std::string& p) {
    char* r = realpath(p.c_str(), nullptr);
    std::string s = r ? r : p;
    free(r);
    return s;
}

// The file's sha256 as coreutils computes it (independent of the daemon's code).
std::string sha256sum(const std::string& path) {
    std::string out;
    EXPECT_EQ(run_command({"sha256sum", path}, &out), 0) << out;
    return out.substr(0, out.find(' '));
}

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_root()) return;
        sock_ = dir_.file("run/api.sock");
        std::vector<std::string> args{"--api-socket", sock_, "--stats-interval", "1"};
        // The operation and arguments of another client's attach are read in deep mode.
        if (deep()) args.push_back("--deep");
        daemon_ = std::make_unique<Jvmwatchd>(args);
        ASSERT_TRUE(daemon_->wait_ready()) << daemon_->output();
    }
    virtual bool deep() const { return false; }
    CliRun cli(std::vector<std::string> args, const std::string& as_user = "") {
        args.push_back("--socket");
        args.push_back(sock_);
        return jvmwatch_cli(dir_, args, as_user);
    }
    json ps_row(pid_t pid) {
        CliRun r = cli({"ps", "--json"});
        EXPECT_EQ(r.code, 0) << r.err;
        auto rows = json::parse(r.out, nullptr, false);
        if (!rows.is_array()) return json();
        for (auto& row : rows)
            if (row["pid"] == pid) return row;
        return json();
    }
    bool saw(const std::string& type, pid_t pid, std::chrono::milliseconds t = 30s) {
        return daemon_->wait_for([&](const json& e) {
            return e["type"] == type && ((e.contains("jvm") && e["jvm"]["pid"] == pid) ||
                                         (e.contains("target") && e["target"].value("pid", 0) == pid));
        }, t).has_value();
    }
    TempDir dir_{"jvmwatch-api-test"};
    std::string sock_;
    std::unique_ptr<Jvmwatchd> daemon_;
};

TEST_F(ApiTest, SocketAndDirectoryAreRootOnly) {
    JW_REQUIRE_ROOT();
    struct stat st;
    ASSERT_EQ(lstat(sock_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(lstat(dir_.file("run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // Another user cannot even reach it.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0711), 0);
    CliRun r = cli({"status"}, "65534");
    EXPECT_EQ(r.code, cli::kPermissionDenied) << r.out << r.err;
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
    // Even when the modes are loosened, the daemon checks the peer's uid.
    ASSERT_EQ(chmod(dir_.file("run").c_str(), 0711), 0);
    ASSERT_EQ(chmod(sock_.c_str(), 0666), 0);
    r = cli({"status"}, "65534");
    EXPECT_EQ(r.code, cli::kPermissionDenied) << r.out << r.err;
    EXPECT_NE(r.err.find("serves root only"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    // Stopping removes the socket.
    daemon_->stop();
    EXPECT_NE(lstat(sock_.c_str(), &st), 0);
}

class ApiDeepTest : public ApiTest {
    bool deep() const override { return true; }
};

TEST_F(ApiDeepTest, PsShowsStaticAndDynamicAgentsAndTheLastAttach) {
    JW_REQUIRE_ROOT();
    std::string jar = abs(java_jar("marker"));
    Child jvm(java_spec({"-javaagent:" + jar + "=" + dir_.file("m1"), "-Xmx32m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(saw("jvm.start", jvm.pid())) << daemon_->output();
    json row;
    ASSERT_TRUE(eventually([&] { row = ps_row(jvm.pid()); return row.is_object(); }, 20s));
    EXPECT_EQ(row["main"], "jw.test.Sleeper");
    EXPECT_EQ(row["visibility"], "jvm");   // Debian's libjvm keeps its symbols: probed from inside
    ASSERT_EQ(row["agents"].size(), 1u) << row.dump();
    EXPECT_EQ(row["agents"][0]["path"], jar);
    EXPECT_EQ(row["agents"][0]["source"], "static");
    EXPECT_TRUE(row["last_attach"].is_null());

    ASSERT_TRUE(eventually([&] { return access(dir_.file("m1").c_str(), F_OK) == 0; }, 30s));
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "attach", std::to_string(jvm.pid()), "load", "instrument", "false",
                           jar + "=" + dir_.file("m2")}, &out), 0) << out;
    ASSERT_TRUE(saw("attach", jvm.pid())) << daemon_->output();
    ASSERT_TRUE(eventually([&] {
        row = ps_row(jvm.pid());
        return row.is_object() && row["agents"].size() == 2;
    }, 20s)) << row.dump();
    EXPECT_EQ(row["agents"][1]["source"], "attach");
    EXPECT_EQ(row["agents"][1]["path"], jar);
    EXPECT_EQ(row["last_attach"]["op"], "load");
    EXPECT_EQ(row["last_attach"]["attacher"]["comm"], "jvmwatch");
    EXPECT_EQ(row["last_attach"]["args"][0], "instrument");

    // The table: one row with both agents (+ marks the dynamic one) and who attached.
    CliRun t = cli({"ps"});
    EXPECT_EQ(t.code, 0) << t.err;
    EXPECT_TRUE(t.err.empty()) << t.err;
    EXPECT_NE(t.out.find("LAST-ATTACH"), std::string::npos) << t.out;
    std::string line;
    std::istringstream lines(t.out);
    bool found = false;
    while (std::getline(lines, line))
        if (line.rfind(std::to_string(jvm.pid()) + " ", 0) == 0) {
            found = true;
            // The static one with the first digits of its sha256 (the daemon hashed it).
            EXPECT_NE(line.find("marker.jar#" + sha256sum(jar).substr(0, 12) + ",+marker.jar"), std::string::npos)
                << line;
            EXPECT_NE(line.find("jvmwatch["), std::string::npos) << line;
            EXPECT_NE(line.find(" load "), std::string::npos) << line;
        }
    EXPECT_TRUE(found) << t.out;
}

// jvm.start carries the JVM's command-line agents with the sha256 of each file; `ps` shows
// its first 12 digits.
TEST_F(ApiTest, StaticAgentsCarryTheSha256OfTheirFiles) {
    JW_REQUIRE_ROOT();
    std::string jar = abs(java_jar("marker"));
    std::string hash = sha256sum(jar);
    ASSERT_EQ(hash.size(), 64u);
    Child jvm(java_spec({"-javaagent:" + jar + "=" + dir_.file("m1") + ",a=b", "-Xmx32m"}, "jw.test.Sleeper"));
    auto start = daemon_->wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["pid"] == jvm.pid();
    });
    ASSERT_TRUE(start) << daemon_->output();
    const json& agents = (*start)["jvm"]["agents"];
    ASSERT_TRUE(agents.is_array()) << start->dump();
    ASSERT_EQ(agents.size(), 1u) << start->dump();
    EXPECT_EQ(agents[0]["kind"], "java");
    EXPECT_EQ(agents[0]["path"], jar);
    EXPECT_EQ(agents[0]["options"], dir_.file("m1") + ",a=b");
    EXPECT_EQ(agents[0]["sha256"], hash) << start->dump();
    struct stat st;
    ASSERT_EQ(stat(jar.c_str(), &st), 0);
    EXPECT_EQ(agents[0]["size"], st.st_size);
    EXPECT_FALSE(agents[0].contains("why"));

    json row;
    ASSERT_TRUE(eventually([&] { row = ps_row(jvm.pid()); return row.is_object(); }, 20s));
    ASSERT_EQ(row["agents"].size(), 1u) << row.dump();
    EXPECT_EQ(row["agents"][0]["source"], "static");
    EXPECT_EQ(row["agents"][0]["sha256"], hash.substr(0, 12)) << row.dump();
}

// Agent paths that are a FIFO (the JVM itself blocks opening it), a link to that FIFO or a
// directory are recorded with why, never opened; a relative one is hashed against the JVM's
// cwd.  The daemon goes on.
TEST_F(ApiTest, HostileStaticAgentPathsAreRecordedNotOpened) {
    JW_REQUIRE_ROOT();
    std::string cwd = dir_.file("cwd");
    ASSERT_EQ(mkdir(cwd.c_str(), 0755), 0);
    std::string fifo = cwd + "/fifo.jar";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    ASSERT_EQ(symlink(fifo.c_str(), (cwd + "/link.jar").c_str()), 0);
    {
        std::ifstream src(java_jar("marker"), std::ios::binary);
        std::ofstream dst(cwd + "/rel.jar", std::ios::binary);
        dst << src.rdbuf();
    }
    std::string hash = sha256sum(cwd + "/rel.jar");
    // The JVM hangs in its own open() of the FIFO: it stays up, its later agents unused.
    Child::Spec spec = java_spec({"-javaagent:" + fifo, "-javaagent:" + cwd + "/link.jar", "-agentpath:" + cwd,
                                  "-javaagent:rel.jar", "-javaagent:" + cwd + "/missing.jar"},
                                 "jw.test.Sleeper");
    spec.cwd = cwd;
    Child jvm(spec);
    auto start = daemon_->wait_for([&](const json& e) {
        return e["type"] == "jvm.start" && e["jvm"]["pid"] == jvm.pid();
    });
    ASSERT_TRUE(start) << daemon_->output();
    const json& agents = (*start)["jvm"]["agents"];
    ASSERT_EQ(agents.size(), 5u) << start->dump();
    for (size_t i : {0u, 1u, 2u, 4u}) {
        EXPECT_FALSE(agents[i].contains("sha256")) << agents[i].dump();
        EXPECT_TRUE(agents[i].contains("why")) << agents[i].dump();
    }
    EXPECT_EQ(agents[3]["path"], "rel.jar");
    EXPECT_EQ(agents[3]["sha256"], hash) << agents[3].dump();
    // Still serving: another JVM is seen.
    Child other(java_spec({"-Xmx32m"}, "jw.test.Sleeper"));
    EXPECT_TRUE(saw("jvm.start", other.pid())) << daemon_->output();
}

// An agent file name with a terminal escape, a newline and invalid UTF-8 reaches the table escaped.
TEST_F(ApiTest, PsEscapesHostileAgentNames) {
    JW_REQUIRE_ROOT();
    std::string evil = dir_.file("evil\x1b[31m\nFORGED 1 root\xff.jar");
    {
        std::ifstream src(java_jar("marker"), std::ios::binary);
        std::ofstream dst(evil, std::ios::binary);
        dst << src.rdbuf();
    }
    Child jvm(java_spec({"-javaagent:" + evil + "=" + dir_.file("m1"), "-Xmx32m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(saw("jvm.start", jvm.pid())) << daemon_->output();
    CliRun t;
    ASSERT_TRUE(eventually([&] {
        t = cli({"ps"});
        return t.out.find("\n" + std::to_string(jvm.pid()) + " ") != std::string::npos;
    }, 20s)) << t.out << t.err;
    EXPECT_EQ(t.out.find('\x1b'), std::string::npos) << "a raw escape reached the terminal";
    EXPECT_EQ(t.out.find("\nFORGED"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("evil\\x1b[31m\\nFORGED 1 root\xEF\xBF\xBD.jar"), std::string::npos) << t.out;
    CliRun j = cli({"ps", "--json"});
    auto rows = json::parse(j.out, nullptr, false);
    ASSERT_TRUE(rows.is_array()) << j.out;
}

TEST_F(ApiTest, EventsFilteredByTypeAndPid) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx32m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(saw("jvm.start", jvm.pid()));
    std::string pid = std::to_string(jvm.pid());
    CliRun r;
    ASSERT_TRUE(eventually([&] {
        r = cli({"events", "--type", "jvm.start", "--pid", pid, "--json", "--since", "10m"});
        return r.code == 0 && r.out.find("\"jvm.start\"") != std::string::npos;
    }, 20s)) << r.out << r.err;
    std::istringstream lines(r.out);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
        auto e = json::parse(line);
        EXPECT_EQ(e["type"], "jvm.start");
        EXPECT_EQ(e["jvm"]["pid"], jvm.pid());
        ++n;
    }
    EXPECT_EQ(n, 1);
    CliRun text = cli({"events", "--type", "jvm.start", "--pid", pid});
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("jvm.start"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("jw.test.Sleeper"), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find('{'), std::string::npos) << text.out;
    // Nothing before a time in the future; a bad --since is a usage error, locally.
    CliRun none = cli({"events", "--since", "2200-01-01T00:00:00Z", "--json"});
    EXPECT_EQ(none.code, 0);
    EXPECT_TRUE(none.out.empty()) << none.out;
    EXPECT_EQ(cli({"events", "--since", "yesterday"}).code, cli::kUsage);
}

TEST_F(ApiTest, FollowReceivesALaterEvent) {
    JW_REQUIRE_ROOT();
    Child::Spec s;
    s.argv = {bin_path("jvmwatch"), "events", "--follow", "--type", "jvm.start", "--json", "--socket", sock_};
    Child follow(s);
    ASSERT_TRUE(eventually([&] {   // connected: the daemon counts it
        CliRun st = cli({"status", "--json"});
        auto j = json::parse(st.out, nullptr, false);
        return j.is_object() && j["api"]["clients"].get<int>() >= 2;
    }, 20s));
    Child jvm(java_spec({"-Xmx32m"}, "jw.test.Sleeper"));
    EXPECT_TRUE(follow.wait_for_output("\"pid\":" + std::to_string(jvm.pid()), 30s)) << follow.output();
    EXPECT_TRUE(follow.alive());
}

TEST_F(ApiTest, StatusShowsHooksUptimeAndConfig) {
    JW_REQUIRE_ROOT();
    CliRun r;
    ASSERT_TRUE(eventually([&] {
        r = cli({"status", "--json"});
        auto j = json::parse(r.out, nullptr, false);
        return j.is_object() && j["stats"].is_object();   // a stats event has arrived
    }, 20s)) << r.out << r.err;
    auto j = json::parse(r.out);
    EXPECT_TRUE(j["hooks"].contains("exec")) << r.out;
    EXPECT_GT(j["uptime_s"].get<double>(), 0.0);
    EXPECT_EQ(j["config"], "<embedded default>");
    EXPECT_TRUE(j["config_loaded"].is_string());
    EXPECT_TRUE(j["stats"]["drops"].contains("ringbuf"));
    EXPECT_EQ(j["pid"], daemon_->pid());
    CliRun t = cli({"status"});
    EXPECT_EQ(t.code, 0);
    EXPECT_NE(t.out.find("hooks:    "), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("exec "), std::string::npos) << t.out;
    EXPECT_NE(t.out.find(", up "), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("drops:"), std::string::npos) << t.out;
}

// A client that asks to follow and never reads is dropped; the daemon and the others go on.
TEST_F(ApiTest, AClientThatNeverReadsIsDroppedNotWaitedFor) {
    JW_REQUIRE_ROOT();
    Child jvm(java_spec({"-Xmx32m"}, "jw.test.Sleeper"));
    ASSERT_TRUE(saw("jvm.start", jvm.pid()));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_un a = {};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_.c_str());
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string req = "{\"request\":\"events\",\"follow\":true}\n";
    ASSERT_EQ(write(fd, req.data(), req.size()), ssize_t(req.size()));
    // Flood: attaches make events faster than a socket buffer holds them (never read here).
    std::string pid = std::to_string(jvm.pid());
    auto flood_start = std::chrono::steady_clock::now();
    json st;
    bool dropped = false;
    for (int i = 0; i < 3000 && !dropped; ++i) {
        run_command({bin_path("jvmwatch"), "attach", pid, "properties"}, nullptr, 20s);
        if (i % 50 == 49) {
            CliRun s = cli({"status", "--json"});
            ASSERT_EQ(s.code, 0) << s.err;   // the daemon answers meanwhile
            st = json::parse(s.out, nullptr, false);
            dropped = st.is_object() && st["api"]["clients_dropped"].get<int>() >= 1;
        }
        if (std::chrono::steady_clock::now() - flood_start > 150s) break;
    }
    EXPECT_TRUE(dropped) << st.dump();
    close(fd);
    CliRun ps = cli({"ps", "--json"});
    EXPECT_EQ(ps.code, 0);
    EXPECT_NE(ps.out.find("\"pid\":" + pid), std::string::npos);
}

// A second daemon on the same socket audits without an API and leaves the first one's alone.
TEST_F(ApiTest, ASecondDaemonLeavesTheSocketInUseAlone) {
    JW_REQUIRE_ROOT();
    Jvmwatchd second({"--api-socket", sock_});
    ASSERT_TRUE(second.wait_ready()) << second.output();
    EXPECT_NE(second.output().find("another daemon serves it; running without the local API"), std::string::npos)
        << second.output();
    EXPECT_EQ(second.stop().value_or(-1), 0);
    CliRun r = cli({"status", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["pid"], daemon_->pid());
}

TEST_F(ApiTest, MalformedRequestGetsOneErrorLine) {
    JW_REQUIRE_ROOT();
    for (std::string req : {std::string("hello\n"), std::string("{\"request\":\"kill\"}\n"),
                            std::string(10000, 'x') + "\n"}) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_.c_str());
        ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        (void)!write(fd, req.data(), req.size());
        std::string reply;
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, size_t(n));
        close(fd);
        EXPECT_EQ(std::count(reply.begin(), reply.end(), '\n'), 1) << reply;
        EXPECT_TRUE(json::parse(reply, nullptr, false).contains("error")) << reply;
    }
    EXPECT_EQ(cli({"status"}).code, 0);
}

TEST(ApiNoDaemon, PsFallsBackToProcWithOneLine) {
    TempDir dir("jvmwatch-api-test");
    std::string sock = dir.file("none.sock");
    CliRun r = jvmwatch_cli(dir, {"ps", "--socket", sock});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("listing from /proc"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.rfind("PID ", 0), 0u) << r.out;
    CliRun e = jvmwatch_cli(dir, {"events", "--socket", sock});
    EXPECT_EQ(e.code, cli::kNoDaemon) << e.err;
    EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
    CliRun s = jvmwatch_cli(dir, {"status", "--socket", sock});
    EXPECT_EQ(s.code, cli::kNoDaemon) << s.err;
    CliRun p = jvmwatch_cli(dir, {"ps", "--proc", "--socket", sock});
    EXPECT_EQ(p.code, 0);
    EXPECT_TRUE(p.err.empty()) << p.err;
}

TEST(ApiNoDaemon, RefusesAnUnsafeSocketDirectoryOrPath) {
    JW_REQUIRE_ROOT();
    TempDir dir("jvmwatch-api-test");
    ASSERT_EQ(mkdir(dir.file("open").c_str(), 0700), 0);
    ASSERT_EQ(chmod(dir.file("open").c_str(), 0777), 0);
    ASSERT_EQ(symlink(dir.file("open").c_str(), dir.file("link").c_str()), 0);
    ASSERT_EQ(mkdir(dir.file("ok").c_str(), 0700), 0);
    std::ofstream(dir.file("ok/api.sock")) << "a regular file";
    struct Case { std::string sock, why; } cases[] = {
        {dir.file("open/api.sock"), "writable by group or others"},
        {dir.file("link/api.sock"), "is a symlink"},
        {dir.file("ok/api.sock"), "is not a socket"},
    };
    for (auto& c : cases) {
        std::string out;
        int rc = run_command({bin_path("jvmwatchd"), "--api-socket", c.sock, "--audit-log", dir.file("a.log")}, &out, 60s);
        EXPECT_EQ(rc, 13) << out;
        EXPECT_NE(out.find(c.why), std::string::npos) << out;
    }
    // The regular file in the way was left alone.
    std::ifstream in(dir.file("ok/api.sock"));
    std::string content;
    std::getline(in, content);
    EXPECT_EQ(content, "a regular file");
}

}  // namespace
}  // namespace jvmwatch::test
