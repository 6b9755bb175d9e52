// A minimal HTTP/1.0 GET over a plain socket, for tests that scrape /metrics or ask
// Prometheus's API (no HTTP client library needed).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace jvmwatch::test {

struct HttpReply {
    int status = 0;
    std::string body;
};

// GET http://host:port/path; nullopt when it cannot connect or the reply is not HTTP.
inline std::optional<HttpReply> http_get(const std::string& host, uint16_t port, const std::string& path,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return std::nullopt;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    struct Closer { int fd; ~Closer() { close(fd); } } closer{fd};
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return std::nullopt;
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return std::nullopt;
    std::string raw;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
        char buf[16384];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        raw.append(buf, static_cast<size_t>(n));
    }
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return std::nullopt;
    HttpReply r;
    r.status = std::atoi(raw.c_str() + 9);
    auto body = raw.find("\r\n\r\n");
    if (body != std::string::npos) r.body = raw.substr(body + 4);
    return r;
}

}  // namespace jvmwatch::test
