// attach::run(): vet the target, bring up its listener safely, exchange one request.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "attach/conversation.h"
#include "attach/exchange.h"
#include "attach/handshake.h"
#include "attach/jvm_process.h"
#include "attach/protocol.h"
#include "attach/route.h"
#include "attach/safe_fs.h"
#include "jvmwatch/attach.h"

namespace jvmwatch::attach {

namespace {

// One attach; holds the state the steps share.
class Session {
public:
    Session(pid_t pid, const Request& req, const Options& opt)
        : pid_(pid), req_(req), opt_(opt), t0_(io::now_ns()),
          deadline_(t0_ + int64_t(opt.timeout.count()) * 1000000) {}

    Result run();

private:
    void log(const std::string& s) const {
        if (!opt_.on_log) return;
        char stamp[32];
        snprintf(stamp, sizeof stamp, "[%8.3f ms] ", double(io::now_ns() - t0_) / 1e6);
        opt_.on_log(stamp + s);
    }
    Outcome choose_protocol();
    Outcome check_identity(uint64_t start_ticks);
    Outcome ensure_listener(ino_t stale_ino);
    Result& done(Outcome o);
    Outcome vet();

    pid_t pid_;
    const Request& req_;
    const Options& opt_;
    int64_t t0_, deadline_;
    Result r_;
    jvm::JvmProcess t_;
    std::string host_path_;
    std::string who_;
    RouteBuilder route_;
    safefs::UniqueFd root_;  // the target's root directory (O_PATH)
    SocketCheck sock_;       // its attach socket, once found
    TriggerFile trigger_;
    std::unique_ptr<PidFd> pidfd_;
    int version_ = 1;
};

Outcome Session::choose_protocol() {
    std::string v1err = protocol::v1_limit_error(req_);
    if (opt_.protocol == 1 && !v1err.empty()) {
        r_.detail = v1err;
        return Outcome::invalid_request;
    }
    version_ = opt_.protocol == 2 || !v1err.empty() ? 2 : 1;
    if (version_ == 2) {
        std::string v2err = protocol::v2_limit_error(req_);
        if (!v2err.empty()) {
            r_.detail = v2err;
            return Outcome::invalid_request;
        }
    }
    return Outcome::ok;
}

// The caller's decision was about one process (Options::expect_start_ticks): a pid that
// names another one by now was reused, and nothing may be signalled or created for it.
Outcome Session::check_identity(uint64_t start_ticks) {
    if (opt_.expect_start_ticks == 0 || start_ticks == opt_.expect_start_ticks) return Outcome::ok;
    r_.detail = "pid " + std::to_string(pid_) + " now names another process (started at tick " +
                std::to_string(start_ticks) + ", expected " +
                std::to_string(opt_.expect_start_ticks) +
                "): the JVM exited and its pid was reused; nothing sent";
    return Outcome::target_exited;
}

// Brings up the attach listener: the caller saw no socket (or only a stale one).
Outcome Session::ensure_listener(ino_t stale_ino) {
    std::string detail;
    Outcome o;
    if (t_.flags.reduce_signal_usage) {
        // -Xrs: the listener starts at VM init and a SIGQUIT would kill the JVM.
        log("-Xrs: not signalling; waiting for the listener started at VM init");
        o = wait_for_socket(root_.get(), t_, host_path_, stale_ino, *pidfd_, deadline_, &sock_,
                            &detail);
        if (o == Outcome::timed_out)
            detail = "the JVM runs with -Xrs: its attach socket is missing and a signal would "
                     "kill it, so none was sent";
        if (o != Outcome::ok) r_.detail = detail;
        return o;
    }
    o = wait_until_signal_safe(opt_.proc_root, t_, *pidfd_, deadline_, &detail, opt_.on_log);
    if (o != Outcome::ok) {
        r_.detail = detail;
        return o;
    }
    std::string why = trigger_.create(opt_.proc_root, root_.get(), t_);
    if (!why.empty()) {
        // Without a trigger the JVM would print a thread dump instead of attaching.
        r_.detail = why + "; not signalling";
        return Outcome::unsafe_target;
    }
    log("trigger file " +
        (trigger_.shown_path().empty() ? std::string("(existing)") : trigger_.shown_path()));
    int e = pidfd_->send_signal(SIGQUIT);
    if (e == ESRCH) {
        r_.detail = "the JVM exited before it could be signalled";
        return Outcome::target_exited;
    }
    if (e != 0) {
        r_.detail = std::string("cannot signal the JVM: ") + strerror(e);
        return e == EPERM ? Outcome::permission_denied : Outcome::system_error;
    }
    r_.signalled = true;
    log("sent SIGQUIT; waiting for " + host_path_);
    o = wait_for_socket(root_.get(), t_, host_path_, stale_ino, *pidfd_, deadline_, &sock_,
                        &detail);
    if (o != Outcome::ok) r_.detail = detail;
    else log("socket appeared");
    return o;
}

Result& Session::done(Outcome o) {
    r_.outcome = o;
    r_.protocol = version_;
    r_.elapsed_ms = double(io::now_ns() - t0_) / 1e6;
    if (o != Outcome::ok && o != Outcome::jvm_error && o != Outcome::agent_error &&
        o != Outcome::dynamic_loading_disabled)
        log(std::string(to_string(o)) + ": " + r_.detail);
    return r_;
}

// Everything that decides whether this is a HotSpot JVM we may signal (the slow part of
// inspecting: exe, cmdline, environ, JDK release).
Outcome Session::vet() {
    auto t = jvm::inspect(opt_.proc_root, pid_, /*for_attach=*/true);
    if (!t || t->start_time_ticks != t_.start_time_ticks) {
        r_.detail = who_ + " exited while inspecting it";
        return Outcome::target_exited;
    }
    t_ = std::move(*t);
    if (t_.kind == jvm::Kind::openj9) {
        r_.detail = who_ + " is an OpenJ9 JVM, which uses a different attach mechanism; not signalled";
        return Outcome::not_a_jvm;
    }
    if (t_.kind != jvm::Kind::hotspot) {
        r_.detail = who_ + " is not a Java VM (no libjvm.so mapped, exe " +
                    (t_.exe.empty() ? "unknown" : t_.exe) + ")";
        return Outcome::not_a_jvm;
    }
    log(who_ + ": HotSpot JVM, JDK " + (t_.jdk_version.empty() ? "?" : t_.jdk_version) +
        ", uid " + std::to_string(t_.euid) + ", nspid " + std::to_string(t_.nspid));
    if (t_.flags.disable_attach_mechanism) {
        r_.detail = "the JVM runs with -XX:+DisableAttachMechanism; not signalled";
        return Outcome::attach_disabled;
    }
    return Outcome::ok;
}

Result Session::run() {
    if (pid_ <= 0) {
        r_.detail = "invalid pid " + std::to_string(pid_);
        return done(Outcome::no_such_process);
    }
    // Cheap facts first: a warm JVM (a trusted socket present, same ids) needs no more.
    auto basic = jvm::inspect_basic(opt_.proc_root, pid_);
    if (!basic) {
        r_.detail = "no process with pid " + std::to_string(pid_);
        return done(Outcome::no_such_process);
    }
    t_ = std::move(*basic);
    who_ = "pid " + std::to_string(pid_) + " (" + t_.status.name + ")";
    if (Outcome o = check_identity(t_.start_time_ticks); o != Outcome::ok) return done(o);
    if (t_.status.state == 'Z' || t_.status.state == 'X') {
        r_.detail = who_ + " has exited (zombie)";
        return done(Outcome::target_exited);
    }
    // Without root, another user's maps and exe are unreadable: we could not even tell
    // whether it is a JVM, and could neither signal nor connect.
    if (geteuid() != 0 && geteuid() != t_.euid) {
        r_.detail = who_ + " runs as uid " + std::to_string(t_.euid) +
                    ": attaching needs root or that user";
        return done(Outcome::permission_denied);
    }
    if (Outcome o = choose_protocol(); o != Outcome::ok) return done(o);
    // Identity from here on: the pidfd (every signal goes through it) and the root fd,
    // both taken before the start time is checked again, so both name the process that
    // was decided on, or the check fails.
    pidfd_ = std::make_unique<PidFd>(pid_);
    safefs::Failure root_fail;
    root_ = safefs::open_proc_root(opt_.proc_root, pid_, &root_fail);
    auto again = proc::read_stat(opt_.proc_root, pid_);
    if (again) {
        if (Outcome o = check_identity(again->start_time_ticks); o != Outcome::ok) return done(o);
    }
    if (!again || again->start_time_ticks != t_.start_time_ticks) {
        r_.detail = who_ + " exited (or the pid was reused) while inspecting it";
        return done(Outcome::target_exited);
    }
    if (pidfd_->fd() < 0) {
        r_.detail = "cannot open a pidfd for " + who_ + ": " + strerror(pidfd_->error());
        return done(pidfd_->error() == ESRCH ? Outcome::target_exited : Outcome::system_error);
    }
    if (!root_) {
        r_.detail = "cannot open the root of " + who_ + ": " + root_fail.why;
        return done(root_fail.err == ENOENT ? Outcome::target_exited : Outcome::permission_denied);
    }
    host_path_ = host_socket_path(opt_.proc_root, t_);
    sock_ = check_socket(root_.get(), t_, host_path_);
    const auto& c = sock_;
    // Vet now unless the JVM is warm: its socket is only there if it is a HotSpot JVM
    // whose listener runs (or ran: a stale socket is vetted before any signal).  With
    // other ids the credential rule needs the JDK version.
    bool vetted = false;
    if (c.state != SocketState::present || geteuid() != t_.euid || getegid() != t_.egid) {
        if (Outcome o = vet(); o != Outcome::ok) return done(o);
        vetted = true;
    }
    if (c.state == SocketState::untrusted) {
        r_.detail = c.detail;
        return done(Outcome::untrusted_socket);
    }
    route_.build(opt_.proc_root, t_);
    bool up = c.state == SocketState::present;
    ino_t stale_ino = 0;
    for (int attempt = 0;; ++attempt) {
        if (!up) {
            if (!vetted) {
                if (Outcome o = vet(); o != Outcome::ok) return done(o);
                vetted = true;
            }
            if (Outcome o = ensure_listener(stale_ino); o != Outcome::ok) return done(o);
        }
        Conversation::Params p;
        p.protocol_option = opt_.protocol;
        p.deadline_ns = deadline_;
        p.watch_fd = pidfd_->fd();
        p.timeout_ms = long(opt_.timeout.count());
        p.on_output = opt_.on_output;
        p.max_output = opt_.max_output;
        if (opt_.on_log) p.log = [this](const std::string& s) { log(s); };
        route_.set_socket(sock_.dir.get(), sock_.name, sock_.ino, host_path_);
        Conversation conv(route_.route(), std::move(p));
        ino_t tried_ino = sock_.ino;
        bool stale = false;
        if (conv.talk(req_, &r_, &stale)) {
            if (r_.outcome == Outcome::protocol_error && !r_.jvm_code && pidfd_->exited()) {
                r_.detail = "the JVM exited before replying";
                return done(Outcome::target_exited);
            }
            return done(r_.outcome);
        }
        if (attempt >= 2) {
            r_.detail = "the attach socket vanished or refused connections after the handshake";
            return done(Outcome::protocol_error);
        }
        // No listener behind the socket: a stale one of a dead JVM, or (JDK 17) the socket
        // of a listener started by a very early SIGQUIT that VM init then deleted as
        // "stale".  The JVM restarts its listener on the next trigger + SIGQUIT.
        log(stale ? "stale socket (connection refused): running the handshake"
                    : "socket vanished: running the handshake");
        if (stale) stale_ino = tried_ino;
        up = false;
    }
}

}  // namespace

Result run(pid_t pid, const Request& request, const Options& options) {
    return Session(pid, request, options).run();
}

}  // namespace jvmwatch::attach
