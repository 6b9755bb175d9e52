#include "userspace/cli/api_client.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace jvmwatch::cli {

namespace {
constexpr size_t kMaxReplyLine = 64u << 20;   // one ps reply with thousands of JVMs fits
}

std::string api_socket_path(const std::string& from_option) {
    if (!from_option.empty()) return from_option;
    const char* env = std::getenv("JVMWATCH_API_SOCKET");
    if (env && *env) return env;
    return kDefaultApiSocket;
}

ApiClient::Connect ApiClient::connect(const std::string& path, std::string* error) {
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        if (error) *error = "socket path empty or too long";
        return Connect::error;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    fd_ = safefs::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) {
        if (error) *error = std::strerror(errno);
        return Connect::error;
    }
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return Connect::ok;
    int e = errno;
    if (error) *error = std::strerror(e);
    fd_ = safefs::UniqueFd();
    if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) return Connect::no_daemon;
    if (e == EACCES || e == EPERM) return Connect::permission_denied;
    return Connect::error;
}

bool ApiClient::send_request(const nlohmann::json& request, std::string* error) {
    std::string line = request.dump() + "\n";
    size_t off = 0;
    while (off < line.size()) {
        ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (error) *error = std::string("sending the request: ") + std::strerror(errno);
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

bool ApiClient::read_lines(const std::function<bool(const nlohmann::json&)>& on_line,
                           std::chrono::milliseconds timeout, std::string* error) {
    std::string buf;
    char chunk[65536];
    for (;;) {
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
            auto j = nlohmann::json::parse(std::string_view(buf).substr(0, nl), nullptr, false);
            buf.erase(0, nl + 1);
            if (j.is_discarded() || !j.is_object()) {
                if (error) *error = "malformed reply from the daemon (not a JSON object)";
                return false;
            }
            if (!on_line(j)) return true;
        }
        if (buf.size() > kMaxReplyLine) {
            if (error) *error = "malformed reply from the daemon (a line over 64 MiB)";
            return false;
        }
        struct pollfd p = {fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, timeout.count() > 0 ? static_cast<int>(timeout.count()) : -1);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            if (error) *error = "the daemon did not answer within " + std::to_string(timeout.count()) + " ms";
            return false;
        }
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (error) *error = std::string("reading the reply: ") + std::strerror(errno);
            return false;
        }
        if (n == 0) {
            if (!buf.empty()) {
                if (error) *error = "malformed reply from the daemon (cut short)";
                return false;
            }
            if (error) *error = "the daemon closed the connection";
            return false;
        }
        buf.append(chunk, static_cast<size_t>(n));
    }
}

}  // namespace jvmwatch::cli
