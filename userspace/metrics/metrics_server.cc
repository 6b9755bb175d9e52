#include "userspace/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>

#include <prometheus/exposer.h>

#include "attach/safe_fs.h"
#include "userspace/daemon/daemon_config.h"

namespace jvmwatch::metrics {

namespace {

// civetweb says only "possible problem binding to port": binding the same address
// ourselves tells why (in use, not an address of this host, ...).
std::string bind_failure(const std::string& host, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return "not an IPv4 address";
    safefs::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return std::strerror(errno);
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);   // as civetweb does
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return std::strerror(errno);
    return "the HTTP server could not start";
}

}  // namespace

// civetweb's stop waits for its listener thread, which notices only when its poll()
// returns: up to 2 s once a request was served.  Connecting to our own port wakes it.
MetricsServer::~MetricsServer() {
    if (!exposer_) return;
    auto addr = daemon::parse_metrics_listen(address_);
    std::atomic<bool> stopped{false};
    std::thread waker([&] {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(addr ? addr->port : 0);
        std::string host = !addr || addr->host == "0.0.0.0" ? "127.0.0.1" : addr->host;
        inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
        while (!stopped) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            safefs::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return;
        }
    });
    exposer_.reset();
    stopped = true;
    waker.join();
}

std::unique_ptr<MetricsServer> MetricsServer::start(const std::string& listen,
                                                    std::shared_ptr<prometheus::Collectable> collectable,
                                                    std::string* error) {
    auto fail = [&](const std::string& why) {
        if (error) *error = "cannot listen on " + listen + ": " + why;
        return nullptr;
    };
    auto addr = daemon::parse_metrics_listen(listen);
    if (!addr) return fail("expected IPV4:PORT, e.g. 127.0.0.1:9469");
    std::unique_ptr<MetricsServer> s(new MetricsServer);
    s->collectable_ = std::move(collectable);
    try {
        // Two threads; a client that stalls a request is cut off after 10 s.
        s->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", addr->host + ":" + std::to_string(addr->port), "num_threads", "2",
            "request_timeout_ms", "10000"});
    } catch (const std::exception&) {
        return fail(bind_failure(addr->host, addr->port));
    }
    auto ports = s->exposer_->GetListeningPorts();
    if (ports.empty()) return fail("no port bound");
    s->exposer_->RegisterCollectable(s->collectable_);
    s->address_ = addr->host + ":" + std::to_string(ports.front());
    return s;
}

}  // namespace jvmwatch::metrics
