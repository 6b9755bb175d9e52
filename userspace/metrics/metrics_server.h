// The HTTP endpoint Prometheus scrapes: prometheus-cpp's pull Exposer (civetweb) on one
// IPv4 address and port, serving /metrics from one collectable.  A scrape runs on the
// exposer's own threads and only reads what the collectable copies.
#pragma once

#include <memory>
#include <string>

#include <prometheus/collectable.h>

namespace prometheus {
class Exposer;
}

namespace jvmwatch::metrics {

class MetricsServer {
public:
    // Listens on `listen` ("IPV4:PORT", port 0 = any free port).  nullptr and *error
    // ("cannot listen on ADDR: reason") when the address cannot be bound.
    static std::unique_ptr<MetricsServer> start(const std::string& listen,
                                                std::shared_ptr<prometheus::Collectable> collectable,
                                                std::string* error);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // "127.0.0.1:PORT" with the port actually bound.
    const std::string& address() const { return address_; }

private:
    MetricsServer() = default;
    std::shared_ptr<prometheus::Collectable> collectable_;
    std::unique_ptr<prometheus::Exposer> exposer_;
    std::string address_;
};

}  // namespace jvmwatch::metrics
