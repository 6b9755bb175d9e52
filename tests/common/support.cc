#include "tests/common/support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace jvmwatch::test {

namespace fs = std::filesystem;

bool have_root() { return geteuid() == 0; }

bool root_required() {
    const char* v = getenv("JVMWATCH_REQUIRE_ROOT");
    return v && std::string(v) == "1";
}

std::string build_dir() {
    const char* v = getenv("JVMWATCH_BUILD");
    if (v && *v) return fs::absolute(v).string();
    return fs::absolute("build").string();
}

std::string bin_path(const std::string& name) { return build_dir() + "/bin/" + name; }
std::string java_classes() { return build_dir() + "/java/classes"; }
std::string java_jar(const std::string& name) { return build_dir() + "/java/" + name + ".jar"; }

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string source_dir() {
    const char* v = getenv("JVMWATCH_SRC");
    if (v && *v) return v;
    return fs::current_path().string();
}

TempDir::TempDir(const std::string& prefix, const std::string& base) {
    std::string tmpl = base + "/" + prefix + ".XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
    path_ = buf.data();
    // Tests drop some children to other users; let them write here.
    chmod(path_.c_str(), 0777);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

static std::string find_in_path(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = getenv("PATH");
    std::stringstream ss(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        std::string p = dir + "/" + name;
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    return name;
}

Child::Child(Spec spec) : dir_("jvmwatch-child") {
    out_path_ = dir_.file("output");
    chmod(dir_.path().c_str(), 0755);
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) envs.emplace_back(*e);
    for (auto& e : spec.env_extra) envs.push_back(e);
    std::vector<char*> argv, envp;
    for (auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::string exe = find_in_path(spec.argv.at(0));

    int fd = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("open output: " + std::string(strerror(errno)));
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
    if (pid_ == 0) {
        setpgid(0, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        // Children must see SIGQUIT with its default disposition, as a real JVM would.
        signal(SIGQUIT, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(126);
        if (spec.gid && setgid(*spec.gid) != 0) _exit(126);
        if (spec.uid && setuid(*spec.uid) != 0) _exit(126);
        execve(exe.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    close(fd);
}

// A JVM killed by a signal cannot remove its /tmp/.java_pid<pid> socket (nor an
// attach's trigger file): tests must not leave them behind.  Called while the child is
// a zombie, so its pid cannot have been reused yet.
static void remove_dead_jvm_files(pid_t pid) {
    struct stat sb;
    std::string sock = "/tmp/.java_pid" + std::to_string(pid);
    if (lstat(sock.c_str(), &sb) == 0 && S_ISSOCK(sb.st_mode)) unlink(sock.c_str());
    std::string trigger = "/tmp/.attach_pid" + std::to_string(pid);
    if (lstat(trigger.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) unlink(trigger.c_str());
    // Its perf data file, /tmp/hsperfdata_<user>/<pid> (a JVM's user is not known here).
    std::error_code ec;
    for (const auto& d : fs::directory_iterator("/tmp", ec)) {
        if (d.path().filename().string().rfind("hsperfdata_", 0) != 0) continue;
        std::string perf = d.path().string() + "/" + std::to_string(pid);
        if (lstat(perf.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) unlink(perf.c_str());
    }
}

// Waits (blocking or not) for the child to exit without reaping it, cleans up after
// it, then reaps.  Returns true once reaped.
static bool reap(pid_t pid, bool block, int* status) {
    siginfo_t si{};
    if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) != 0 || si.si_pid != pid)
        return false;
    remove_dead_jvm_files(pid);
    return waitpid(pid, status, 0) == pid;
}

Child::~Child() {
    if (pid_ > 0 && !reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        int st;
        reap(pid_, true, &st);
    }
}

std::string Child::output() const {
    std::ifstream in(out_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool Child::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const {
    return eventually([&] { return output().find(needle) != std::string::npos || !alive(); },
                      timeout) &&
           output().find(needle) != std::string::npos;
}

bool Child::alive() const {
    if (reaped_) return false;
    int st;
    if (reap(pid_, false, &st)) {
        reaped_ = true;
        status_ = st;
        return false;
    }
    return true;
}

std::optional<int> Child::wait_exit(std::chrono::milliseconds timeout) {
    if (eventually([&] { return !alive(); }, timeout)) return status_;
    return std::nullopt;
}

void Child::kill(int sig) {
    if (!reaped_) ::kill(pid_, sig);
}

Child::Spec java_spec(const std::vector<std::string>& jvm_args, const std::string& main,
                      const std::vector<std::string>& args) {
    Child::Spec s;
    s.argv = {"java", "-cp", java_classes()};
    for (auto& a : jvm_args) s.argv.push_back(a);
    s.argv.push_back(main);
    for (auto& a : args) s.argv.push_back(a);
    return s;
}

int run_command(const std::vector<std::string>& argv, std::string* output,
                std::chrono::milliseconds timeout) {
    Child::Spec s;
    s.argv = argv;
    Child c(s);
    auto st = c.wait_exit(timeout);
    if (output) *output = c.output();
    if (!st) return -1;
    return WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
}

}  // namespace jvmwatch::test
