// The conversation layer against a simulated attach listener in a temp dir: v1, v2
// negotiation, malformed replies, a listener that never answers, one that closes early,
// stale and missing sockets, and the forked-child path.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "attach/conversation.h"
#include "attach/exchange.h"
#include "tests/common/support.h"

namespace jvmwatch::attach {
namespace {

using namespace std::string_literals;

enum class Mode { answer, never, close_early, trickle, flood };
struct Step {
    Mode mode;
    std::string reply;
};

int bound_socket(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ADD_FAILURE() << "bind " << path << ": " << strerror(errno);
        return -1;
    }
    return fd;
}

// True once `b` holds a whole v1 or v2 request.
bool request_complete(const std::string& b) {
    if (b.empty()) return false;
    if (b[0] == '1') return std::count(b.begin(), b.end(), '\0') >= 5;
    if (b[0] == '2') {
        auto nul = b.find('\0', 2);
        if (nul == std::string::npos) return false;
        return b.size() >= nul + 1 + std::stoul(b.substr(2, nul - 2));
    }
    return true;
}

// Serves one scripted step per connection, recording each request.
class FakeListener {
public:
    FakeListener(const std::string& path, std::vector<Step> steps)
        : steps_(std::move(steps)), fd_(bound_socket(path)) {
        listen(fd_, 5);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeListener() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        thread_.join();
        close(fd_);
    }
    std::vector<std::string> requests() {
        std::lock_guard<std::mutex> g(mu_);
        return requests_;
    }

private:
    void serve() {
        for (auto& step : steps_) {
            int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            std::string req;
            char buf[4096];
            while (!request_complete(req)) {
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0) break;
                req.append(buf, size_t(n));
            }
            {
                std::lock_guard<std::mutex> g(mu_);
                requests_.push_back(req);
            }
            if (step.mode == Mode::answer) {
                (void)!send(c, step.reply.data(), step.reply.size(), MSG_NOSIGNAL);
            } else if (step.mode == Mode::trickle) {
                for (char ch : step.reply) {
                    (void)!send(c, &ch, 1, MSG_NOSIGNAL);
                    usleep(1000);
                }
            } else if (step.mode == Mode::flood) {
                // "0\n" and then output without end, until the client goes away.
                std::string chunk = "0\n" + std::string(65536, 'f');
                while (!stop_ && send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0)
                    chunk.assign(65536, 'f');
            } else if (step.mode == Mode::never) {
                while (!stop_) usleep(2000);
            }
            close(c);
        }
    }
    std::vector<Step> steps_;
    int fd_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

struct Harness {
    test::TempDir dir{"jw-attach-listener"};
    io::Route route;
    std::string streamed;
    Harness() { route.socket_path = dir.file(".java_pid1"); }
    Conversation::Params params(int protocol = 0, int timeout_ms = 5000) {
        Conversation::Params p;
        p.protocol_option = protocol;
        p.deadline_ns = io::now_ns() + int64_t(timeout_ms) * 1000000;
        p.timeout_ms = timeout_ms;
        p.on_output = [this](std::string_view s) { streamed.append(s); };
        return p;
    }
};

TEST(AttachListenerSim, V1Ok) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\nOpenJDK 64-Bit Server VM\n"}});
    Result r;
    bool stale = true;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"jcmd", {"VM.version"}}, &r, &stale));
    EXPECT_FALSE(stale);
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(r.protocol, 1);
    EXPECT_EQ(h.streamed, "OpenJDK 64-Bit Server VM\n");
    EXPECT_EQ(l.requests(), (std::vector<std::string>{"1\0jcmd\0VM.version\0\0\0"s}));
}

TEST(AttachListenerSim, V2NegotiatedForLongRequest) {
    Harness h;
    FakeListener l(h.route.socket_path,
                   {{Mode::answer, "0\n2 streaming"}, {Mode::answer, "0\nlong ok\n"}});
    Request req{"jcmd", {std::string(2000, 'x')}};
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk(req, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(r.protocol, 2);
    auto reqs = l.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0], "1\0getversion\0options\0\0\0"s);
    EXPECT_EQ(reqs[1], "2\0" "2006\0jcmd\0"s + std::string(2000, 'x') + "\0"s);
    EXPECT_EQ(h.streamed, "long ok\n");
}

TEST(AttachListenerSim, V2UnsupportedIsInvalidRequest) {
    Harness h;
    FakeListener l(h.route.socket_path,
                   {{Mode::answer, "-1\nOperation getversion not recognized!"}});
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"jcmd", {"a", "b", "c", "d"}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::invalid_request);
    EXPECT_NE(r.detail.find("at most 3"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("only protocol v1"), std::string::npos) << r.detail;
    EXPECT_EQ(l.requests().size(), 1u) << "the long request itself was never sent";
}

TEST(AttachListenerSim, ForcedProtocols) {
    Harness h;
    {
        Result r;
        bool stale = false;
        // Forced v1 with an oversize argument: refused locally, nothing sent.
        ASSERT_TRUE(Conversation(h.route, h.params(1)).talk({"jcmd", {std::string(1025, 'a')}}, &r, &stale));
        EXPECT_EQ(r.outcome, Outcome::invalid_request);
    }
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\nok\n"}});
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params(2)).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(l.requests(), (std::vector<std::string>{"2\0" "11\0properties\0"s}));
}

TEST(AttachListenerSim, MalformedReplies) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::answer, "garbage without code\n"},
                                         {Mode::answer, "0\nbanana"},
                                         {Mode::trickle, "0\nslow but whole\n"}});
    Result r1, r2, r3;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r1, &stale));
    EXPECT_EQ(r1.outcome, Outcome::protocol_error);
    // A malformed getversion reply during negotiation.
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"jcmd", {"a", "b", "c", "d"}}, &r2, &stale));
    EXPECT_EQ(r2.outcome, Outcome::protocol_error);
    EXPECT_NE(r2.detail.find("getversion"), std::string::npos);
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r3, &stale));
    EXPECT_EQ(r3.outcome, Outcome::ok);
    EXPECT_EQ(h.streamed, "slow but whole\n");
}

TEST(AttachListenerSim, NeverAnswersTimesOut) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::never, ""}});
    Result r;
    bool stale = false;
    auto t0 = io::now_ns();
    ASSERT_TRUE(Conversation(h.route, h.params(0, 300)).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::timed_out);
    EXPECT_GE(io::now_ns() - t0, 250 * 1000000LL);
    EXPECT_LT(io::now_ns() - t0, 5000 * 1000000LL);
}

TEST(AttachListenerSim, ClosesEarlyIsProtocolError) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::close_early, ""}});
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    EXPECT_NE(r.detail.find("without a reply"), std::string::npos) << r.detail;
}

TEST(AttachListenerSim, MissingAndStaleSockets) {
    Harness h;
    Result r;
    bool stale = true;
    EXPECT_FALSE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_FALSE(stale);
    int fd = bound_socket(h.route.socket_path);  // bound, never listening: refused
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_FALSE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_TRUE(stale);
}

TEST(AttachListenerSim, ForkedChildStreamsAndTimesOut) {
    Harness h;
    // Switching to our own ids is always allowed and forces the forked path.
    h.route.switch_creds = true;
    h.route.euid = geteuid();
    h.route.egid = getegid();
    ASSERT_TRUE(h.route.needs_fork());
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\n" + std::string(100000, 'p')},
                                         {Mode::never, ""}});
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(h.streamed.size(), 100000u);
    Result r2;
    ASSERT_TRUE(Conversation(h.route, h.params(0, 300)).talk({"properties", {}}, &r2, &stale));
    EXPECT_EQ(r2.outcome, Outcome::timed_out) << r2.detail;
}

TEST(AttachListenerSim, FloodIsCappedAtMaxOutput) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::flood, ""}});
    auto p = h.params();
    p.on_output = nullptr;  // kept in Result::output: at most max_output bytes
    p.max_output = 100000;
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, std::move(p)).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(r.output.size(), 100000u);
    EXPECT_TRUE(r.output_truncated);
}

TEST(AttachListenerSim, FloodWhileStreamingEndsAtTheDeadline) {
    for (bool forked : {false, true}) {
        Harness h;
        h.route.switch_creds = forked;  // to our own ids: the forked path
        h.route.euid = geteuid();
        h.route.egid = getegid();
        FakeListener l(h.route.socket_path, {{Mode::flood, ""}});
        auto p = h.params(0, 500);
        size_t streamed = 0;
        p.on_output = [&](std::string_view s) { streamed += s.size(); };
        Result r;
        bool stale = false;
        auto t0 = io::now_ns();
        ASSERT_TRUE(Conversation(h.route, std::move(p)).talk({"properties", {}}, &r, &stale));
        EXPECT_EQ(r.outcome, Outcome::timed_out) << r.detail;
        EXPECT_GT(streamed, 0u);
        EXPECT_LT(io::now_ns() - t0, 3000 * 1000000LL) << "data kept arriving: forked=" << forked;
        EXPECT_TRUE(r.output.empty());
    }
}

TEST(AttachListenerSim, ListenerMustBeTheTarget) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\nfrom the wrong process\n"},
                                         {Mode::answer, "0\nok\n"}});
    h.route.peer = {true, geteuid(), getpid() + 1};  // we listen, "the JVM" is another pid
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::untrusted_socket) << r.detail;
    EXPECT_NE(r.detail.find("SO_PEERCRED"), std::string::npos) << r.detail;
    EXPECT_TRUE(h.streamed.empty());
    h.route.peer = {true, geteuid(), getpid()};
    Result r2;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r2, &stale));
    EXPECT_EQ(r2.outcome, Outcome::ok) << r2.detail;
    auto reqs = l.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0], "") << "nothing was sent to the wrong listener";
}

TEST(AttachListenerSim, ForkedChildAsAnotherUserConnectsThroughTheDirectoryFd) {
    JW_REQUIRE_ROOT();
    // The socket's directory is sticky and world-writable like a /tmp, but the path to it
    // runs through root's 0700 directory: nobody cannot walk it.
    Harness h;
    ASSERT_EQ(chmod(h.dir.path().c_str(), 0700), 0);
    std::string tmp = h.dir.file("tmp");
    ASSERT_EQ(mkdir(tmp.c_str(), 01777), 0);
    ASSERT_EQ(chmod(tmp.c_str(), 01777), 0);
    h.route.socket_path = tmp + "/.java_pid1";
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\nvia fd\n"}, {Mode::answer, "0\n"}});
    ASSERT_EQ(chown(h.route.socket_path.c_str(), 65534, 65534), 0);
    ASSERT_EQ(chmod(h.route.socket_path.c_str(), 0600), 0);
    h.route.switch_creds = true;
    h.route.euid = 65534;
    h.route.egid = 65534;
    h.route.peer = {true, 65534, getpid()};  // we listen as root: allowed
    {
        Result r;
        bool stale = false;
        ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
        EXPECT_EQ(r.outcome, Outcome::permission_denied) << "by path: " << r.detail;
    }
    int dir = open(tmp.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir, 0);
    struct stat st;
    ASSERT_EQ(stat(h.route.socket_path.c_str(), &st), 0);
    h.route.dir_fd = dir;
    h.route.socket_name = ".java_pid1";
    h.route.peer.ino = st.st_ino;
    EXPECT_EQ(h.route.connect_path(), "/proc/self/fd/" + std::to_string(dir) + "/.java_pid1")
        << "observers recognise attaches by the .java_pid name";
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    close(dir);
    EXPECT_EQ(r.outcome, Outcome::ok) << r.detail;
    EXPECT_EQ(h.streamed, "via fd\n");
}

TEST(AttachListenerSim, ASocketOtherThanTheCheckedInodeGetsNothing) {
    Harness h;
    FakeListener l(h.route.socket_path, {{Mode::answer, "0\nnot this one\n"},
                                         {Mode::answer, "0\nok\n"}});
    struct stat st;
    ASSERT_EQ(stat(h.route.socket_path.c_str(), &st), 0);
    // The listener is the expected process, but the name now leads to another inode
    // than the one checked (as if the socket had been replaced in between).
    h.route.peer = {true, geteuid(), getpid(), st.st_ino + 1};
    Result r;
    bool stale = false;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r, &stale));
    EXPECT_EQ(r.outcome, Outcome::untrusted_socket) << r.detail;
    EXPECT_NE(r.detail.find("replaced after it was checked"), std::string::npos) << r.detail;
    EXPECT_TRUE(h.streamed.empty());
    h.route.peer.ino = st.st_ino;  // the checked inode: talks
    Result r2;
    ASSERT_TRUE(Conversation(h.route, h.params()).talk({"properties", {}}, &r2, &stale));
    EXPECT_EQ(r2.outcome, Outcome::ok) << r2.detail;
    auto reqs = l.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0], "") << "nothing was sent to the replaced socket";
}

}  // namespace
}  // namespace jvmwatch::attach
