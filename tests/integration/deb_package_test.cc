// The Debian package end to end (root, real apt and dpkg on this machine): lintian has no
// errors for build/jvmwatch_<VERSION>_<arch>.deb (`make test` builds it first; `make
// deb`); `apt-get install` puts every file where docs/packaging.md says; the installed
// jvmwatchd, run with its unit's ExecStart (the packaged config), sees a real JVM and
// serves metrics; `apt-get purge` leaves nothing behind.  It refuses to run where a
// jvmwatch package or its directories already exist: it must not disturb them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

namespace jvmwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

// Everything the package installs or its scripts and daemon make; none may exist before
// the install nor after the purge.
const std::vector<std::string> kPackagePaths = {
    "/usr/sbin/jvmwatchd",
    "/usr/bin/jvmwatch",
    "/lib/systemd/system/jvmwatchd.service",
    "/etc/jvmwatch",
    "/var/lib/jvmwatch",
    "/var/log/jvmwatch",
    "/usr/share/doc/jvmwatch",
    "/usr/share/man/man8/jvmwatchd.8.gz",
    "/usr/share/man/man1/jvmwatch.1.gz",
    "/usr/share/lintian/overrides/jvmwatch",
    "/etc/systemd/system/jvmwatchd.service",
    "/etc/systemd/system/multi-user.target.wants/jvmwatchd.service",
};

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

std::vector<std::string> words_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

bool exists(const std::string& path) {
    struct stat sb;
    return lstat(path.c_str(), &sb) == 0;
}

// dpkg's record of the package ("" when it has none).
std::string dpkg_status() {
    std::string out;
    int rc = run_command({"dpkg-query", "-W", "-f=${db:Status-Abbrev}", "jvmwatch"}, &out);
    return rc == 0 ? trim(out) : "";
}

std::vector<std::string> dpkg_info_files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator("/var/lib/dpkg/info"))
        if (e.path().filename().string().rfind("jvmwatch.", 0) == 0) out.push_back(e.path());
    return out;
}

// apt-get with no questions, waiting for the dpkg lock another apt may hold.
int apt_get(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y", "-q",
                                     "-o", "DPkg::Lock::Timeout=300"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, out, 600s);
}

// Purges the package if the test installed it and stopped before its own purge.
class InstallGuard {
public:
    ~InstallGuard() {
        if (!armed) return;
        std::string out;
        if (apt_get({"purge", "jvmwatch"}, &out) != 0) ADD_FAILURE() << "cleanup purge failed:\n" << out;
    }
    bool armed = false;
};

// The package's Depends field as package names.
std::set<std::string> depends_names() {
    std::string out;
    run_command({"dpkg-query", "-W", "-f=${Depends}", "jvmwatch"}, &out);
    std::set<std::string> names;
    std::stringstream ss(out);
    for (std::string item; std::getline(ss, item, ',');) {
        auto w = words_of(item);
        if (!w.empty()) names.insert(w[0]);
    }
    return names;
}

// What a package may be depended on as: its name and the names it Provides.
std::set<std::string> names_of(const std::string& pkg) {
    std::string out;
    run_command({"dpkg-query", "-W", "-f=${Provides}", pkg}, &out);
    std::set<std::string> names = {pkg};
    std::stringstream ss(out);
    for (std::string item; std::getline(ss, item, ',');) {
        auto w = words_of(item);
        if (!w.empty()) names.insert(w[0]);
    }
    return names;
}

// The packages owning a shared library `soname` (any directory), without ":arch".
std::set<std::string> owners_of(const std::string& soname) {
    std::string out;
    run_command({"dpkg-query", "-S", "*/" + soname}, &out);
    std::set<std::string> pkgs;
    for (const auto& l : lines_of(out)) {
        auto colon = l.find(": ");
        if (colon == std::string::npos || l.rfind("diversion", 0) == 0) continue;
        std::stringstream ss(l.substr(0, colon));
        for (std::string p; std::getline(ss, p, ',');) {
            p = words_of(p).empty() ? "" : words_of(p)[0];
            pkgs.insert(p.substr(0, p.find(':')));
        }
    }
    return pkgs;
}

std::vector<std::string> needed_of(const std::string& elf) {
    std::string out;
    run_command({"objdump", "-p", elf}, &out);
    std::vector<std::string> libs;
    for (const auto& l : lines_of(out)) {
        auto w = words_of(l);
        if (w.size() == 2 && w[0] == "NEEDED") libs.push_back(w[1]);
    }
    return libs;
}

bool has_section(const std::string& elf, const std::string& section) {
    std::string out;
    run_command({"readelf", "-S", "-W", elf}, &out);
    return out.find(" " + section + " ") != std::string::npos;
}

// Complete JSON Lines of an audit log, each checked against docs/events.schema.json.
std::vector<json> audit_events(const std::string& path) {
    std::vector<json> out;
    std::string text = read_file(path);
    size_t end = text.rfind('\n');
    if (end == std::string::npos) return out;
    for (const auto& l : lines_of(text.substr(0, end))) {
        auto j = json::parse(l, nullptr, false);
        if (j.is_discarded()) {
            ADD_FAILURE() << "not JSON: " << l;
            continue;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::optional<json> wait_event(const std::string& log, const std::function<bool(const json&)>& pred,
                               std::chrono::milliseconds timeout) {
    std::optional<json> found;
    eventually([&] {
        for (auto& e : audit_events(log))
            if (pred(e)) { found = e; return true; }
        return false;
    }, timeout);
    return found;
}

// A loopback TCP port nobody listens on now.
int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

// GET http://127.0.0.1:PORT/PATH: the whole reply (status line, headers, body), or "".
std::string http_get(int port, const std::string& path) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size())) {
            char buf[65536];
            struct pollfd p {fd, POLLIN, 0};
            while (poll(&p, 1, 10000) > 0) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n <= 0) break;
                reply.append(buf, size_t(n));
            }
        }
    }
    close(fd);
    return reply;
}

TEST(DebPackage, InstallRunSeeAJvmScrapeAndPurgeLeavesNothing) {
    JW_REQUIRE_ROOT();
    // Never touch a jvmwatch that was here before: its purge would delete its config,
    // logs and agent store.
    std::string before = dpkg_status();
    std::string in_the_way;
    for (const auto& p : kPackagePaths)
        if (exists(p)) in_the_way += " " + p;
    if (!before.empty() || !in_the_way.empty()) {
        std::string why = "a jvmwatch is already on this host (dpkg status '" + before + "';" + in_the_way +
                          "): the package test installs and purges jvmwatch, so it does not run here";
        if (root_required()) FAIL() << why;
        GTEST_SKIP() << why;
    }

    std::string version = trim(read_file(source_dir() + "/VERSION"));
    std::string arch;
    ASSERT_EQ(run_command({"dpkg", "--print-architecture"}, &arch), 0);
    std::string deb = fs::absolute(build_dir() + "/jvmwatch_" + version + "_" + trim(arch) + ".deb");
    ASSERT_TRUE(exists(deb)) << deb << " is missing: `make deb` builds it (`make test` does first)";

    // lintian: no errors (docs/packaging.md lists the warnings left and why).
    std::string out;
    int rc = run_command({"lintian", "--fail-on", "error", deb}, &out, 600s);
    EXPECT_EQ(rc, 0) << out;
    for (const auto& l : lines_of(out)) EXPECT_NE(l.rfind("E: ", 0), 0u) << l;

    InstallGuard guard;
    guard.armed = true;
    ASSERT_EQ(apt_get({"install", "--no-install-recommends", deb}, &out), 0) << out;
    ASSERT_EQ(dpkg_status(), "ii") << out;

    // What is installed: every file where docs/packaging.md says, unchanged (md5sums).
    ASSERT_EQ(run_command({"dpkg", "-L", "jvmwatch"}, &out), 0);
    for (const std::string f : {"/usr/sbin/jvmwatchd", "/usr/bin/jvmwatch", "/lib/systemd/system/jvmwatchd.service",
                                "/etc/jvmwatch/jvmwatchd.yaml", "/usr/share/doc/jvmwatch/copyright",
                                "/usr/share/doc/jvmwatch/changelog.gz", "/usr/share/doc/jvmwatch/daemon.md",
                                "/usr/share/doc/jvmwatch/README.md", "/usr/share/man/man8/jvmwatchd.8.gz",
                                "/usr/share/man/man1/jvmwatch.1.gz"})
        EXPECT_NE(out.find(f + "\n"), std::string::npos) << f << " not in dpkg -L:\n" << out;
    EXPECT_EQ(run_command({"dpkg", "--verify", "jvmwatch"}, &out), 0) << out;
    EXPECT_EQ(out, "") << "installed files differ from the package";
    std::string conffiles;
    run_command({"dpkg-query", "-W", "-f=${Conffiles}", "jvmwatch"}, &conffiles);
    EXPECT_NE(conffiles.find("/etc/jvmwatch/jvmwatchd.yaml "), std::string::npos) << conffiles;
    std::string default_config;
    ASSERT_EQ(run_command({"/usr/sbin/jvmwatchd", "--print-default-config"}, &default_config), 0);
    EXPECT_EQ(read_file("/etc/jvmwatch/jvmwatchd.yaml"), default_config);
    for (const std::string bin : {"jvmwatchd", "jvmwatch"}) {
        std::string installed = bin == "jvmwatchd" ? "/usr/sbin/jvmwatchd" : "/usr/bin/jvmwatch";
        std::string built;
        ASSERT_EQ(run_command({installed, "--version"}, &out), 0) << out;
        ASSERT_EQ(run_command({bin_path(bin), "--version"}, &built), 0);
        EXPECT_EQ(out, built) << installed << " is not the build's " << bin << " (a stale package: make deb)";
        EXPECT_EQ(out.rfind(bin + " " + version, 0), 0u) << out;
        // Stripped in the package; the build tree keeps its symbols.
        EXPECT_TRUE(has_section(bin_path(bin), ".symtab")) << bin_path(bin);
        EXPECT_FALSE(has_section(installed, ".symtab")) << installed << " is not stripped";
        EXPECT_FALSE(has_section(installed, ".debug_info")) << installed << " is not stripped";
    }
    // Depends names exactly the packages of the libraries jvmwatchd loads.
    std::set<std::string> depends = depends_names(), used;
    for (const auto& lib : needed_of("/usr/sbin/jvmwatchd")) {
        std::set<std::string> owners = owners_of(lib);
        bool named = false;
        for (const auto& o : owners)
            for (const auto& n : names_of(o))
                if (depends.count(n)) used.insert(n), named = true;
        EXPECT_TRUE(named) << lib << " (from " << ::testing::PrintToString(owners) << ") is not in Depends";
    }
    EXPECT_EQ(used, depends) << "Depends names packages jvmwatchd does not load";
    EXPECT_TRUE(needed_of("/usr/bin/jvmwatch").empty()) << "the CLI is meant to be static";
    struct stat sb;
    ASSERT_EQ(stat("/var/log/jvmwatch", &sb), 0);
    EXPECT_EQ(sb.st_mode & 07777, 0750u);
    ASSERT_EQ(stat("/var/lib/jvmwatch", &sb), 0);
    EXPECT_EQ(sb.st_mode & 07777, 0711u);
    ASSERT_EQ(run_command({"systemd-analyze", "verify", "--man=no", "/lib/systemd/system/jvmwatchd.service"}, &out,
                          120s),
              0)
        << out;
    EXPECT_EQ(out.find("jvmwatchd.service:"), std::string::npos) << out;
    if (exists("/run/systemd/system")) {
        // systemd runs here: postinst started the service; the test runs its own.
        run_command({"systemctl", "stop", "jvmwatchd.service"}, &out);
    }

    // Run the installed daemon exactly as its unit does: ExecStart, packaged config.
    std::vector<std::string> exec;
    for (const auto& l : lines_of(read_file("/lib/systemd/system/jvmwatchd.service")))
        if (l.rfind("ExecStart=", 0) == 0) exec = words_of(l.substr(10));
    ASSERT_GE(exec.size(), 5u);
    EXPECT_EQ(exec[0], "/usr/sbin/jvmwatchd");
    EXPECT_EQ(exec[1], "--config");
    EXPECT_EQ(exec[2], "/etc/jvmwatch/jvmwatchd.yaml");
    auto log_flag = std::find(exec.begin(), exec.end(), "--audit-log");
    ASSERT_NE(log_flag, exec.end());
    ASSERT_NE(log_flag + 1, exec.end());
    std::string log = *(log_flag + 1);
    EXPECT_EQ(log.rfind("/var/log/jvmwatch/", 0), 0u) << log;

    int port = free_port();
    ASSERT_GT(port, 0);
    Child::Spec spec;
    spec.argv = exec;
    // A free port rather than the default 9469: other daemons may run on this host.
    spec.argv.push_back("--metrics-listen");
    spec.argv.push_back("127.0.0.1:" + std::to_string(port));
    // The local API's socket in a private directory: the default /run/jvmwatch/api.sock
    // may belong to a daemon already running here.  A directory the daemon makes itself
    // (0700): the TempDir is open to all, and would be refused.
    TempDir api_dir("jw-deb-api");
    spec.argv.push_back("--api-socket");
    spec.argv.push_back(api_dir.file("run/api.sock"));
    auto daemon = std::make_unique<Child>(spec);
    auto start = wait_event(log, [](const json& e) { return e["type"] == "daemon.start"; }, 60s);
    ASSERT_TRUE(start) << daemon->output();
    EXPECT_EQ((*start)["version"], version);
    EXPECT_EQ((*start)["config"], "/etc/jvmwatch/jvmwatchd.yaml");

    {
        Child jvm(java_spec({}, "jw.daemon.Idle", {"300"}));
        ASSERT_TRUE(jvm.wait_for_output("ready", 60s)) << jvm.output();
        pid_t pid = jvm.pid();
        auto seen = wait_event(log, [&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; },
                               60s);
        ASSERT_TRUE(seen) << "no jvm.start for the JVM\n" << daemon->output();
        EXPECT_EQ((*seen)["jvm"]["main"], "jw.daemon.Idle");

        {
            std::string reply;
            eventually([&] {
                reply = http_get(port, "/metrics");
                return reply.find("jvmwatch_jvms{") != std::string::npos;
            }, 30s);
            EXPECT_NE(reply.find("jvmwatch_jvms{"), std::string::npos) << "the JVM is not counted\n" << reply;
            EXPECT_EQ(reply.rfind("HTTP/1.", 0), 0u) << reply;
            EXPECT_NE(reply.find(" 200 "), std::string::npos) << reply.substr(0, 200);
            size_t series = 0;
            for (const auto& l : lines_of(reply)) series += l.rfind("jvmwatch_", 0) == 0;
            EXPECT_GT(series, 0u) << reply;
            // The build info metric carries the version.
            EXPECT_NE(reply.find("\"" + version + "\""), std::string::npos) << reply;
            // Under the unit, systemd must let it open the (IPv4) metrics socket.
            for (const auto& l : lines_of(read_file("/lib/systemd/system/jvmwatchd.service"))) {
                if (l.rfind("RestrictAddressFamilies=", 0) == 0) {
                    EXPECT_NE(l.find("AF_INET"), std::string::npos) << "the unit forbids the metrics socket: " << l;
                }
            }
        }
        jvm.kill(SIGKILL);
        jvm.wait_exit(10s);
    }

    daemon->kill(SIGTERM);
    auto st = daemon->wait_exit(30s);
    ASSERT_TRUE(st) << daemon->output();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << daemon->output();
    daemon.reset();
    auto events = audit_events(log);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back()["type"], "daemon.stop");
    for (const auto& e : events) {
        std::vector<std::string> errors;
        EXPECT_TRUE(stream_schema().validate(e, &errors))
            << "event does not match the schema: " << e.dump() << "\n" << ::testing::PrintToString(errors);
    }

    // The config is a conffile: an admin's edit survives a reinstall (the upgrade path of
    // the maintainer scripts), and the purge below still removes it.
    std::string edited = default_config + "# edited by the admin\n";
    std::ofstream("/etc/jvmwatch/jvmwatchd.yaml", std::ios::trunc) << edited;
    ASSERT_EQ(apt_get({"install", "--reinstall", deb}, &out), 0) << out;
    EXPECT_EQ(dpkg_status(), "ii");
    EXPECT_EQ(read_file("/etc/jvmwatch/jvmwatchd.yaml"), edited) << out;

    // Purge: no dpkg record, no file, no directory the package, its scripts or its
    // daemon made (the audit log just written included).
    guard.armed = false;
    ASSERT_EQ(apt_get({"purge", "jvmwatch"}, &out), 0) << out;
    EXPECT_EQ(dpkg_status(), "") << "dpkg still knows jvmwatch";
    EXPECT_NE(run_command({"dpkg", "-L", "jvmwatch"}, &out), 0) << out;
    for (const auto& p : kPackagePaths) EXPECT_FALSE(exists(p)) << p << " left after purge";
    EXPECT_EQ(dpkg_info_files(), std::vector<std::string>{});
}

}  // namespace
}  // namespace jvmwatch::test
