#include "userspace/api/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <list>

#include "userspace/api/api_request.h"
#include "userspace/audit/wall_clock.h"

namespace jvmwatch::api {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr size_t kOutHighWater = 256 * 1024;   // replies are produced up to this much unsent

struct Client {
    safefs::UniqueFd fd;
    std::string in, out;
    bool answered = false;       // the request was read
    bool close_after = false;    // close once `out` is sent
    bool streaming = false;      // an events reply is being produced
    bool follow = false;
    EventFilter filter;
    uint64_t cursor = 0;         // next ring index to look at
    uint64_t end_index = 0;      // not follow: stop before this index
    uint64_t sent = 0, lost = 0;
    clock_type::time_point since;   // connected, or last write progress
};

std::string dirname_of(const std::string& p) {
    auto slash = p.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return p.substr(0, slash);
}

// Sends what it can; false when the peer is gone.
bool flush_out(Client& c) {
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out.erase(0, static_cast<size_t>(n));
            c.since = clock_type::now();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
    return true;
}

void produce(Client& c, const ApiState& st) {
    if (!c.streaming) return;
    const bool was_empty = c.out.empty();
    const auto& ring = st.ring();
    uint64_t limit = c.follow ? st.next_index() : c.end_index;
    if (!ring.empty() && c.cursor < ring.front().index) {
        uint64_t gone = std::min(ring.front().index, limit) - c.cursor;
        c.lost += gone;   // evicted before this client read them
        c.cursor += gone;
    }
    for (size_t pos = st.position_of(c.cursor); pos < ring.size() && c.out.size() < kOutHighWater; ++pos) {
        const RingEntry& e = ring[pos];
        if (e.index >= limit) break;
        c.cursor = e.index + 1;
        if (!c.filter.matches(e)) continue;
        c.out += e.line;
        c.out += '\n';
        ++c.sent;
    }
    if (!c.follow && c.cursor >= c.end_index && c.out.size() < kOutHighWater) {
        c.out += nlohmann::json{{"end", true}, {"events", c.sent}, {"lost", c.lost}}.dump() + "\n";
        c.streaming = false;
        c.close_after = true;
    }
    // The write timeout counts from when there is something to send.
    if (was_empty && !c.out.empty()) c.since = clock_type::now();
}

void answer(Client& c, ApiState& st, std::string_view line) {
    c.answered = true;
    std::string err;
    auto req = parse_request(line, audit::realtime_now_ns(), &err);
    if (!req) {
        c.out = error_reply(err) + "\n";
        c.close_after = true;
        return;
    }
    switch (req->kind) {
        case Request::Kind::ps:
            c.out = nlohmann::json{{"jvms", st.ps_json()}}.dump(-1, ' ', false,
                                                                nlohmann::json::error_handler_t::replace) + "\n";
            c.close_after = true;
            return;
        case Request::Kind::status:
            c.out = nlohmann::json{{"status", st.status_json(audit::monotonic_now_ns())}}.dump(
                        -1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
            c.close_after = true;
            return;
        case Request::Kind::events:
            c.streaming = true;
            c.follow = req->follow;
            c.filter = req->filter;
            c.cursor = st.ring().empty() ? st.next_index() : st.ring().front().index;
            c.end_index = st.next_index();
            produce(c, st);
            return;
    }
}

void reject(int fd, const std::string& why) {
    std::string line = error_reply(why) + "\n";
    (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

std::string prepare_socket_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
        if (::chmod(dir.c_str(), 0700) != 0) return dir + ": " + std::strerror(errno);
        return "";
    }
    if (errno != EEXIST) return dir + ": cannot create: " + std::strerror(errno);
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0) return dir + ": " + std::strerror(errno);
    if (S_ISLNK(st.st_mode)) return dir + ": is a symlink";
    if (!S_ISDIR(st.st_mode)) return dir + ": is not a directory";
    if (st.st_uid != geteuid())
        return dir + ": is owned by uid " + std::to_string(st.st_uid) + ", not by the daemon's user";
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return dir + ": is writable by group or others";
    return "";
}

ApiServer::ApiServer(ServerOptions opts, StateLimits limits)
    : opts_(std::move(opts)), limits_(limits), feed_(8192) {
    if (opts_.max_clients == 0) opts_.max_clients = 1;
}

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(std::string* error, bool* in_use) {
    auto fail = [&](const std::string& why) {
        if (error) *error = "api socket " + opts_.socket_path + ": " + why;
        return false;
    };
    const std::string& path = opts_.socket_path;
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return fail("path empty or too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (!feed_.ok()) return fail(std::string("eventfd: ") + std::strerror(errno));
    if (std::string why = prepare_socket_dir(dirname_of(path)); !why.empty()) return fail(why);

    // A socket left by a previous run is replaced; anything else is left alone.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return fail("exists and is not a socket; refusing to replace it");
        if (st.st_uid != geteuid()) return fail("exists and is owned by uid " + std::to_string(st.st_uid));
        safefs::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            if (in_use) *in_use = true;
            return fail("another daemon serves it");
        }
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(std::strerror(errno));
    }
    listen_ = safefs::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listen_) return fail(std::strerror(errno));
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail(std::string("bind: ") + std::strerror(errno));
    bound_ = true;
    // The directory keeps others out; SO_PEERCRED guards the moment before this chmod.
    if (::chmod(path.c_str(), 0600) != 0) {
        std::string why = std::strerror(errno);
        stop();
        return fail("chmod: " + why);
    }
    if (::listen(listen_.get(), 64) != 0) {
        std::string why = std::strerror(errno);
        stop();
        return fail("listen: " + why);
    }
    stop_ = safefs::UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!stop_) {
        std::string why = std::strerror(errno);
        stop();
        return fail("eventfd: " + why);
    }
    thread_ = std::thread([this] { run(); });
    return true;
}

void ApiServer::stop() {
    if (thread_.joinable()) {
        uint64_t one = 1;
        (void)!::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }
    if (bound_) {
        // Only our own socket: the same inode we bound (a replaced name is left alone).
        struct stat by_path, by_fd;
        if (::lstat(opts_.socket_path.c_str(), &by_path) == 0 && ::fstat(listen_.get(), &by_fd) == 0 &&
            S_ISSOCK(by_path.st_mode) && by_path.st_uid == geteuid())
            ::unlink(opts_.socket_path.c_str());
        bound_ = false;
    }
    listen_ = safefs::UniqueFd();
}

void ApiServer::run() {
    ApiState state(limits_, audit::monotonic_now_ns());
    std::list<Client> clients;
    uint64_t refused = 0, dropped = 0;
    std::vector<pollfd> pfds;
    for (;;) {
        pfds.clear();
        pfds.push_back({stop_.get(), POLLIN, 0});
        pfds.push_back({feed_.wake_fd(), POLLIN, 0});
        pfds.push_back({listen_.get(), POLLIN, 0});
        for (auto& c : clients) {
            short ev = 0;
            if (!c.answered) ev |= POLLIN;
            if (!c.out.empty()) ev |= POLLOUT;
            pfds.push_back({c.fd.get(), ev, 0});
        }
        int n = ::poll(pfds.data(), pfds.size(), 250);
        if (n < 0 && errno != EINTR) break;
        if (pfds[0].revents) break;
        auto now = clock_type::now();

        if (pfds[1].revents & POLLIN) {
            for (auto& ev : feed_.take()) {
                try {
                    state.consume(ev);
                } catch (const std::exception&) {
                    // A malformed event must not end the API thread (nor the daemon).
                }
            }
            state.set_feed_dropped(feed_.dropped());
        }
        if (pfds[2].revents & POLLIN) {
            for (int k = 0; k < 16; ++k) {
                safefs::UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (!fd) break;
                struct ucred cred = {};
                socklen_t len = sizeof cred;
                if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
                    reject(fd.get(), "permission denied: the jvmwatch API serves root only");
                    ++refused;
                    continue;
                }
                if (clients.size() >= opts_.max_clients) {
                    reject(fd.get(), "busy: " + std::to_string(opts_.max_clients) + " clients already connected");
                    ++refused;
                    continue;
                }
                Client c;
                c.fd = std::move(fd);
                c.since = now;
                clients.push_back(std::move(c));
            }
        }

        size_t i = 3;
        for (auto it = clients.begin(); it != clients.end(); ++i) {
            Client& c = *it;
            short re = pfds.size() > i && pfds[i].fd == c.fd.get() ? pfds[i].revents : 0;
            bool drop = false;
            if (!c.answered && (re & (POLLIN | POLLHUP | POLLERR))) {
                char buf[4096];
                ssize_t r = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
                if (r > 0) {
                    c.in.append(buf, static_cast<size_t>(r));
                    auto nl = c.in.find('\n');
                    if (nl != std::string::npos) {
                        try {
                            answer(c, state, std::string_view(c.in).substr(0, nl));
                        } catch (const std::exception& e) {
                            c.out = error_reply(std::string("internal error: ") + e.what()) + "\n";
                            c.close_after = true;
                        }
                        c.in.clear();
                        c.since = now;
                    } else if (c.in.size() > kMaxRequestBytes) {
                        answer(c, state, c.in);   // refused as too long
                        c.since = now;
                    }
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    drop = true;
                }
            } else if (re & (POLLHUP | POLLERR)) {
                drop = true;
            }
            if (!drop) {
                produce(c, state);
                if (!flush_out(c)) drop = true;
                else if (!c.out.empty() || c.streaming) produce(c, state);
            }
            if (!drop && c.out.empty() && c.close_after) drop = true;   // done
            auto idle = now - c.since;
            if (!drop && !c.answered && idle > std::chrono::milliseconds(opts_.request_timeout_ms)) {
                reject(c.fd.get(), "no request within " + std::to_string(opts_.request_timeout_ms) + " ms");
                drop = true;
                ++dropped;
            }
            if (!drop && !c.out.empty() && idle > std::chrono::milliseconds(opts_.write_timeout_ms)) {
                drop = true;   // does not read what it asked for
                ++dropped;
            }
            it = drop ? clients.erase(it) : std::next(it);
        }
        state.set_clients(clients.size(), refused, dropped);
    }
}

}  // namespace jvmwatch::api
