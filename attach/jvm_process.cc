// What a process is for the attach mechanism: JVM kind, JDK, attach-related flags,
// main class.  Reads /proc through a proc root; the JDK's files (release, OpenJ9
// markers) are found inside the process's root (safefs in_root on <proc_root>/<pid>/root)
// so a JDK inside a container is found, an absolute link stays in the container, and a
// FIFO, device or huge file planted in a JAVA_HOME is never opened or read unbounded.
#include "attach/jvm_process.h"

#include "attach/safe_fs.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace jvmwatch::jvm {

namespace {

constexpr std::string_view kJavaToolOptions = "JAVA_TOOL_OPTIONS=";
constexpr std::string_view kJdkJavaOptions = "JDK_JAVA_OPTIONS=";
constexpr std::string_view kUnderscoreJavaOptions = "_JAVA_OPTIONS=";

// Launcher options whose value is the NEXT argument (java -help, JDK 17..25).
bool takes_value(std::string_view a) {
    static constexpr std::array<std::string_view, 16> kWithValue = {
        "-cp", "-classpath", "--class-path", "-p", "--module-path",
        "--upgrade-module-path", "--add-modules", "--limit-modules", "--add-reads",
        "--add-exports", "--add-opens", "--patch-module", "--enable-native-access",
        "--describe-module", "-d", "--source"};
    return std::find(kWithValue.begin(), kWithValue.end(), a) != kWithValue.end();
}

void apply_flag(std::string_view a, AttachFlags* f) {
    if (a == "-XX:+DisableAttachMechanism") f->disable_attach_mechanism = true;
    else if (a == "-XX:-DisableAttachMechanism") f->disable_attach_mechanism = false;
    else if (a == "-Xrs") f->reduce_signal_usage = true;
    else if (a == "-XX:+ReduceSignalUsage") f->reduce_signal_usage = true;
    else if (a == "-XX:-ReduceSignalUsage") f->reduce_signal_usage = false;
    else if (a == "-XX:+EnableDynamicAgentLoading") f->enable_dynamic_agent_loading = true;
    else if (a == "-XX:-EnableDynamicAgentLoading") f->enable_dynamic_agent_loading = false;
    else if (a == "-Djdk.attach.compat=true") f->attach_compat = true;
    else if (a.starts_with("-Djdk.attach.compat=")) f->attach_compat = false;
}

// Index of the first argument after the JVM options (main class, -jar, -m), or
// cmdline.size() if there is none.  cmdline[0] is the launcher.
size_t end_of_options(const std::vector<std::string>& cmdline) {
    for (size_t i = 1; i < cmdline.size(); ++i) {
        std::string_view a = cmdline[i];
        if (a == "-jar" || a == "-m" || a == "--module" || a.starts_with("--module=")) return i;
        if (a.empty() || a[0] != '-') return i;
        if (takes_value(a)) ++i;
    }
    return cmdline.size();
}

std::string dirname(const std::string& p) {
    auto s = p.rfind('/');
    if (s == std::string::npos) return "";
    return s == 0 ? "/" : p.substr(0, s);
}

std::string basename(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

std::string user_name(uid_t uid) {
    struct passwd pw, *res = nullptr;
    std::array<char, 4096> buf;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) return res->pw_name;
    return std::to_string(uid);
}

bool is_openj9_lib(std::string_view base) {
    return base.starts_with("libj9vm") && base.ends_with(".so");
}

constexpr size_t kMaxRelease = 64 << 10;

// A regular file at `path` inside the process's root (O_PATH only: nothing is opened).
bool file_in_root(int root_fd, const std::string& path) {
    return root_fd >= 0 &&
           safefs::open_path(root_fd, path, safefs::Resolve::in_root, safefs::Expect{}).valid();
}

// An OpenJ9 JDK or JRE (its VM library lives in a "default" or "compressedrefs" dir).
bool openj9_home(int root_fd, const std::string& home) {
    for (const char* rel : {"/lib/default/libj9vm29.so", "/lib/compressedrefs/libj9vm29.so",
                            "/jre/lib/amd64/default/libj9vm29.so",
                            "/jre/lib/amd64/compressedrefs/libj9vm29.so"})
        if (file_in_root(root_fd, home + rel)) return true;
    return false;
}

// $JAVA_HOME/release, read capped and non-blocking (a FIFO or device is refused).
std::optional<std::string> read_release(int root_fd, const std::string& home) {
    if (root_fd < 0 || home.empty()) return std::nullopt;
    return safefs::read_file(root_fd, home + "/release", safefs::Resolve::in_root, kMaxRelease);
}

}  // namespace

std::vector<std::string> split_java_options(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    bool in_token = false;
    char quote = 0;
    for (char c : s) {
        if (quote) {
            if (c == quote) quote = 0;
            else cur += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_token = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_token) out.push_back(cur), cur.clear(), in_token = false;
        } else {
            cur += c;
            in_token = true;
        }
    }
    if (in_token) out.push_back(cur);
    return out;
}

std::optional<std::string> env_value(const std::vector<std::string>& env, std::string_view key) {
    for (auto& e : env)
        if (std::string_view(e).starts_with(key)) return e.substr(key.size());
    return std::nullopt;
}

AttachFlags parse_attach_flags(const std::vector<std::string>& cmdline,
                               const std::vector<std::string>& environ) {
    // The JVM reads JAVA_TOOL_OPTIONS first, then the command line (into which the
    // launcher expanded JDK_JAVA_OPTIONS ahead of the real arguments), then
    // _JAVA_OPTIONS: the last setting of a flag wins.
    AttachFlags f;
    if (auto v = env_value(environ, kJavaToolOptions))
        for (auto& a : split_java_options(*v)) apply_flag(a, &f);
    if (!cmdline.empty() && basename(cmdline[0]) == "java")
        if (auto v = env_value(environ, kJdkJavaOptions))
            for (auto& a : split_java_options(*v)) apply_flag(a, &f);
    size_t end = end_of_options(cmdline);
    for (size_t i = 1; i < end; ++i) apply_flag(cmdline[i], &f);
    if (auto v = env_value(environ, kUnderscoreJavaOptions))
        for (auto& a : split_java_options(*v)) apply_flag(a, &f);
    return f;
}

std::string main_from_cmdline(const std::vector<std::string>& cmdline) {
    size_t i = end_of_options(cmdline);
    if (i >= cmdline.size()) return "";
    std::string_view a = cmdline[i];
    if (a == "-jar" || a == "-m" || a == "--module")
        return i + 1 < cmdline.size() ? cmdline[i + 1] : "";
    if (a.starts_with("--module=")) return std::string(a.substr(9));
    return cmdline[i];
}

std::string parse_release_version(const std::string& release_text) {
    constexpr std::string_view key = "JAVA_VERSION=";
    size_t pos = 0;
    while (pos < release_text.size()) {
        size_t eol = release_text.find('\n', pos);
        if (eol == std::string::npos) eol = release_text.size();
        std::string_view line(release_text.data() + pos, eol - pos);
        if (line.starts_with(key)) {
            line.remove_prefix(key.size());
            while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
            if (line.size() >= 2 && line.front() == '"' && line.back() == '"')
                line = line.substr(1, line.size() - 2);
            return std::string(line);
        }
        pos = eol + 1;
    }
    return "";
}

std::optional<JvmProcess> inspect_basic(const std::string& proc_root, pid_t pid) {
    auto status = proc::read_status(proc_root, pid);
    auto stat = proc::read_stat(proc_root, pid);
    if (!status || !stat) return std::nullopt;
    JvmProcess j;
    j.pid = pid;
    j.status = *status;
    j.nspid = status->nspid();
    j.start_time_ticks = stat->start_time_ticks;
    j.euid = status->euid;
    j.egid = status->egid;
    return j;
}

std::optional<JvmProcess> inspect(const std::string& proc_root, pid_t pid, bool for_attach) {
    auto basic = inspect_basic(proc_root, pid);
    if (!basic) return std::nullopt;
    JvmProcess& j = *basic;
    j.user = for_attach ? std::to_string(j.euid) : user_name(j.euid);
    j.exe = proc::read_exe(proc_root, pid);
    j.cmdline = proc::read_cmdline(proc_root, pid);

    // The JDK's files are looked up inside the process's root.  Unreadable (another
    // user's process without root): those facts stay unknown.
    safefs::UniqueFd root = safefs::open_proc_root(proc_root, pid);
    // One pass over maps for both markers (the kernel renders maps on every read, a few
    // hundred microseconds for a JVM: the attach fast path avoids it for `java`).
    std::string libjvm, j9;
    bool quick = for_attach && basename(j.exe) == "java";
    if (quick && openj9_home(root.get(), dirname(dirname(j.exe)))) j9 = "(openj9 JAVA_HOME)";
    auto is_marker = [](std::string_view b) { return b == "libjvm.so" || is_openj9_lib(b); };
    std::vector<std::string> marked;
    if (!quick) marked = proc::mapped_library_paths(proc_root, pid, is_marker);
    for (auto& path : marked) {
        std::string_view base = std::string_view(path).substr(path.rfind('/') + 1);
        if (base == "libjvm.so" && libjvm.empty()) libjvm = path;
        else if (is_openj9_lib(base) && j9.empty()) j9 = path;
    }
    bool j9_attach_info = file_in_root(
        root.get(), "/tmp/.com_ibm_tools_attach/" + std::to_string(j.nspid) + "/attachInfo");
    j.libjvm_loaded = !libjvm.empty();

    // OpenJ9 also ships a libjvm.so shim, so its markers take precedence.
    if (!j9.empty() || j9_attach_info) {
        j.kind = Kind::openj9;
    } else if (j.libjvm_loaded || basename(j.exe) == "java") {
        // exe "java" without libjvm yet: the launcher is still loading the VM.
        j.kind = Kind::hotspot;
    } else {
        return basic;
    }

    // JAVA_HOME: <home>/lib/server/libjvm.so (JDK 9+), <home>/jre/lib/amd64/server/libjvm.so
    // (JDK 8), or <home>/bin/java.
    const std::string& lib = !j9.empty() ? j9 : libjvm;
    if (!lib.empty() && lib[0] == '/') {
        std::string home = dirname(dirname(dirname(lib)));
        if (basename(dirname(home)) == "jre") home = dirname(dirname(home));  // jre/lib/<arch>
        else if (basename(home) == "jre") home = dirname(home);
        j.java_home = home;
        if (basename(j.java_home) == "lib") j.java_home = dirname(j.java_home);
    } else if (!j.exe.empty()) {
        j.java_home = dirname(dirname(j.exe));
    }
    if (!j.java_home.empty()) {
        auto release = read_release(root.get(), j.java_home);
        if (!release && !j.exe.empty()) release = read_release(root.get(), dirname(dirname(j.exe)));
        if (release) j.jdk_version = parse_release_version(*release);
    }
    j.main = main_from_cmdline(j.cmdline);
    j.flags = parse_attach_flags(j.cmdline, proc::read_environ(proc_root, pid));
    return basic;
}

std::vector<JvmProcess> list_jvms(const std::string& proc_root) {
    std::vector<JvmProcess> out;
    for (pid_t pid : proc::list_pids(proc_root)) {
        auto j = inspect(proc_root, pid);
        if (j && j->kind != Kind::not_jvm) out.push_back(std::move(*j));
    }
    return out;
}

}  // namespace jvmwatch::jvm
