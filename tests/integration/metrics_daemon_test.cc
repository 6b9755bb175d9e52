// jvmwatchd's Prometheus endpoint end to end (root): a real daemon, a real JVM, a real
// attach with `jvmwatch attach`, a scrape over HTTP checked by promtool, and a real
// Prometheus server scraping the daemon and answering through its HTTP API.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <regex>

#include "tests/common/http_get.h"
#include "tests/common/prom_text.h"
#include "tests/common/support.h"
#include "tests/integration/daemon_harness.h"

using namespace jvmwatch::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The port daemon.start says the endpoint listens on.
uint16_t metrics_port(Jvmwatchd& d) {
    auto start = d.wait_for([](const json& e) { return e["type"] == "daemon.start"; });
    if (!start || !start->contains("metrics")) {
        ADD_FAILURE() << "daemon.start names no metrics address";
        return 0;
    }
    std::smatch m;
    std::string addr = (*start)["metrics"];
    if (!std::regex_match(addr, m, std::regex(R"(127\.0\.0\.1:(\d+))"))) {
        ADD_FAILURE() << "unexpected metrics address " << addr;
        return 0;
    }
    return static_cast<uint16_t>(std::stoi(m[1]));
}

std::string scrape_text(uint16_t port) {
    auto r = http_get("127.0.0.1", port, "/metrics");
    EXPECT_TRUE(r) << "no reply from 127.0.0.1:" << port;
    if (!r) return "";
    EXPECT_EQ(r->status, 200);
    return r->body;
}

// A free loopback port (bound and released: Prometheus binds it right after).
uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    close(fd);
    return ntohs(sa.sin_port);
}

std::unique_ptr<Child> start_idle_jvm() {
    auto jvm = std::make_unique<Child>(java_spec({}, "jw.daemon.Idle", {"300"}));
    EXPECT_TRUE(jvm->wait_for_output("ready", 60s)) << jvm->output();
    return jvm;
}

// Starts a JVM, waits for the daemon to report it, attaches with `jvmwatch attach PID
// properties` and waits for the attach record.  Returns the JVM.
std::unique_ptr<Child> jvm_attached(Jvmwatchd& d) {
    auto jvm = start_idle_jvm();
    pid_t pid = jvm->pid();
    EXPECT_TRUE(d.wait_for([&](const json& e) { return e["type"] == "jvm.start" && e["jvm"]["pid"] == pid; }, 60s))
        << "no jvm.start for " << pid;
    std::string out;
    EXPECT_EQ(run_command({bin_path("jvmwatch"), "attach", std::to_string(pid), "properties"}, &out), 0) << out;
    EXPECT_TRUE(d.wait_for([&](const json& e) { return e["type"] == "attach" && e["target"].value("pid", 0) == pid; }, 60s))
        << "no attach record for " << pid;
    return jvm;
}

}  // namespace

TEST(MetricsDaemon, ScrapeShowsTheJvmAndTheAttachAndPassesPromtool) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    uint16_t port = metrics_port(d);
    ASSERT_NE(port, 0);
    EXPECT_NE(d.output().find("metrics: http://127.0.0.1:" + std::to_string(port) + "/metrics"), std::string::npos)
        << d.output();
    // Other processes on the host may attach too: compare with a baseline.
    auto before = parse_prom_text(scrape_text(port));
    double attaches0 = prom_sum(before, "jvmwatch_attaches_total", {"outcome=\"replied\""});
    double attach_events0 = prom_sum(before, "jvmwatch_events_total", {"type=\"attach\""});

    auto jvm = jvm_attached(d);
    std::string pid = std::to_string(jvm->pid());
    std::string text;
    std::map<std::string, double> m;
    bool seen = eventually([&] {
        text = scrape_text(port);
        m = parse_prom_text(text);
        // The stats copy is refreshed once a second: jvm_starts and the kernel's connect
        // come with it.  Debian's JDK 17 is probed from inside: the op and its reply are
        // known (docs/observer.md, the JVM side).
        return prom_sum(m, "jvmwatch_observed_events_total", {"kind=\"connect\""}) >= 1 &&
               prom_sum(m, "jvmwatch_attaches_total", {"op=\"properties\"", "outcome=\"replied\"", "self=\"false\""}) >= 1 &&
               prom_sum(m, "jvmwatch_attaches_total", {"outcome=\"replied\""}) >= attaches0 + 1 &&
               prom_sum(m, "jvmwatch_jvms", {"jdk_major=\"17\"", "visibility=\"jvm\""}) >= 1 &&
               prom_sum(m, "jvmwatch_jvm_starts_total") >= 1;
    }, 30s);
    ASSERT_TRUE(seen) << text;
    EXPECT_GE(prom_sum(m, "jvmwatch_events_total", {"type=\"attach\""}), attach_events0 + 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_events_total", {"type=\"daemon.start\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_dropped_events_total", {"cause=\"ringbuf\""}), 0);
    EXPECT_GE(prom_sum(m, "jvmwatch_hook_info", {"kind=\"exec\""}), 1);
    EXPECT_EQ(prom_sum(m, "jvmwatch_build_info"), 1);
    for (const auto& [series, v] : m) {
        auto brace = series.find('{');
        if (brace == std::string::npos) continue;
        EXPECT_EQ(series.find("\"" + pid + "\"", brace), std::string::npos) << "a pid as a label: " << series;
    }

    // promtool: the exposition format and the naming lint, with nothing to say.
    TempDir dir("jw-promtool");
    std::ofstream(dir.file("scrape.txt")) << text;
    std::string out;
    int rc = run_command({"/bin/sh", "-c", "promtool check metrics < " + dir.file("scrape.txt")}, &out);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "") << "promtool has remarks:\n" << out;
}

TEST(MetricsDaemon, PrometheusServerScrapesTheDaemon) {
    JW_REQUIRE_ROOT();
    ASSERT_EQ(access("/usr/bin/prometheus", X_OK), 0) << "prometheus is missing (make deps installs it)";
    Jvmwatchd d;
    ASSERT_TRUE(d.wait_ready()) << d.output();
    uint16_t port = metrics_port(d);
    ASSERT_NE(port, 0);
    auto jvm = jvm_attached(d);

    TempDir dir("jw-prometheus");
    std::ofstream(dir.file("prometheus.yml"))
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: jvmwatch\n    static_configs:\n"
           "      - targets: [\"127.0.0.1:" << port << "\"]\n";
    uint16_t web = free_port();
    Child::Spec s;
    s.argv = {"/usr/bin/prometheus", "--config.file=" + dir.file("prometheus.yml"),
              "--storage.tsdb.path=" + dir.file("data"),
              "--web.listen-address=127.0.0.1:" + std::to_string(web), "--log.level=warn"};
    s.cwd = dir.path();
    auto prom = std::make_unique<Child>(s);

    // sum(jvmwatch_attaches_total{outcome="replied"}) and the JDK 17 JVM, through the API.
    auto query = [&](const std::string& encoded) -> std::optional<double> {
        auto r = http_get("127.0.0.1", web, "/api/v1/query?query=" + encoded, 5s);
        if (!r || r->status != 200) return std::nullopt;
        auto j = json::parse(r->body, nullptr, false);
        if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
        const auto& res = j["data"]["result"];
        if (!res.is_array() || res.empty()) return std::nullopt;
        return std::stod(res[0]["value"][1].get<std::string>());
    };
    std::optional<double> attaches, jvms, up;
    bool answered = eventually([&] {
        if (!prom->alive()) return true;
        attaches = query("sum(jvmwatch_attaches_total%7Boutcome%3D%22replied%22%7D)");
        jvms = query("sum(jvmwatch_jvms%7Bjdk_major%3D%2217%22%7D)");
        up = query("up%7Bjob%3D%22jvmwatch%22%7D");
        return attaches && *attaches >= 1 && jvms && *jvms >= 1 && up && *up == 1;
    }, 120s);
    EXPECT_TRUE(prom->alive()) << prom->output();
    EXPECT_TRUE(answered) << "attaches " << attaches.value_or(-1) << ", jvms " << jvms.value_or(-1)
                          << ", up " << up.value_or(-1) << "\n" << prom->output();
    prom->kill(SIGTERM);
    EXPECT_TRUE(prom->wait_exit(30s)) << "prometheus did not stop";
}

TEST(MetricsDaemon, PortInUseIsOneLineAndExit13) {
    // Refused before anything is loaded: needs no root.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    std::string addr = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    TempDir dir("jw-metrics-busy");
    std::string out;
    int rc = run_command({bin_path("jvmwatchd"), "--audit-log", dir.file("a.log"), "--metrics-listen", addr}, &out, 30s);
    close(fd);
    EXPECT_EQ(rc, 13) << out;
    EXPECT_EQ(out, "jvmwatchd: error: metrics: cannot listen on " + addr + ": Address already in use\n");

    // The same from the config file.
    std::ofstream(dir.file("c.yaml")) << "metrics:\n  listen: \"" << addr << "x\"\n";
    rc = run_command({bin_path("jvmwatchd"), "--config", dir.file("c.yaml")}, &out, 30s);
    EXPECT_EQ(rc, 13) << out;
    EXPECT_NE(out.find(dir.file("c.yaml") + ":2: metrics.listen: expected IPV4:PORT"), std::string::npos) << out;

    rc = run_command({bin_path("jvmwatchd"), "--metrics-listen", "localhost:80"}, &out, 30s);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("--metrics-listen: expected IPV4:PORT"), std::string::npos) << out;
}

TEST(MetricsDaemon, OffMeansNoEndpoint) {
    JW_REQUIRE_ROOT();
    Jvmwatchd d({"--metrics-listen", "off"});
    ASSERT_TRUE(d.wait_ready()) << d.output();
    auto start = d.wait_for([](const json& e) { return e["type"] == "daemon.start"; });
    ASSERT_TRUE(start);
    EXPECT_FALSE(start->contains("metrics")) << start->dump();
    EXPECT_EQ(d.output().find("metrics:"), std::string::npos) << d.output();
}
