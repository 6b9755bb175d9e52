// /proc parsing.  Every reader takes the proc root so unit tests can point it at a
// fixture tree; parsers of file text are separate pure functions.
#include "attach/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace jvmwatch::proc {

namespace {

std::string pid_path(const std::string& root, pid_t pid, const char* file) {
    return root + "/" + std::to_string(pid) + "/" + file;
}

template <class T>
bool parse_num(std::string_view s, T* out, int base = 10) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
    return ec == std::errc() && p != s.data();
}

// Whitespace-separated numbers after a "Key:" prefix.
template <class T>
std::vector<T> parse_nums(std::string_view s) {
    std::vector<T> out;
    std::istringstream in{std::string(s)};
    long long v;
    while (in >> v) out.push_back(static_cast<T>(v));
    return out;
}

std::vector<std::string> split_nul(const std::string& data) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < data.size()) {
        size_t end = data.find('\0', start);
        if (end == std::string::npos) end = data.size();
        out.emplace_back(data, start, end - start);
        start = end + 1;
    }
    return out;
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[8192];
    while (out.size() < limit) {
        ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            // e.g. ESRCH on a process that exited between open and read
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

std::optional<Status> parse_status(const std::string& text) {
    Status st;
    bool have_tgid = false;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string_view key(line.data(), colon);
        std::string_view val(line.data() + colon + 1, line.size() - colon - 1);
        while (!val.empty() && (val.front() == ' ' || val.front() == '\t')) val.remove_prefix(1);
        if (key == "Name") {
            st.name = std::string(val);
        } else if (key == "State") {
            if (!val.empty()) st.state = val.front();
        } else if (key == "Tgid") {
            have_tgid = parse_num(val, &st.tgid);
        } else if (key == "PPid") {
            parse_num(val, &st.ppid);
        } else if (key == "NStgid") {
            st.nstgid = parse_nums<pid_t>(val);
        } else if (key == "Uid") {
            auto v = parse_nums<uid_t>(val);
            if (v.size() >= 2) st.ruid = v[0], st.euid = v[1];
        } else if (key == "Gid") {
            auto v = parse_nums<gid_t>(val);
            if (v.size() >= 2) st.rgid = v[0], st.egid = v[1];
        } else if (key == "SigBlk") {
            parse_num(val, &st.sig_blk, 16);
        } else if (key == "SigIgn") {
            parse_num(val, &st.sig_ign, 16);
        } else if (key == "SigCgt") {
            parse_num(val, &st.sig_cgt, 16);
        }
    }
    if (!have_tgid) return std::nullopt;
    return st;
}

std::optional<Status> read_status(const std::string& proc_root, pid_t pid) {
    auto text = read_file(pid_path(proc_root, pid, "status"));
    if (!text) return std::nullopt;
    return parse_status(*text);
}

std::vector<std::string> read_cmdline(const std::string& proc_root, pid_t pid) {
    auto text = read_file(pid_path(proc_root, pid, "cmdline"));
    return text ? split_nul(*text) : std::vector<std::string>{};
}

std::vector<std::string> read_environ(const std::string& proc_root, pid_t pid) {
    auto text = read_file(pid_path(proc_root, pid, "environ"));
    return text ? split_nul(*text) : std::vector<std::string>{};
}

std::optional<Stat> parse_stat(const std::string& text) {
    // comm (field 2) may contain spaces and parentheses: the fields resume after the
    // LAST ')'.
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream in(text.substr(close + 2));
    Stat st;
    std::string state;
    if (!(in >> state) || state.empty()) return std::nullopt;
    st.state = state[0];
    if (!(in >> st.ppid)) return std::nullopt;
    // Fields 5..21 skipped, 22 = starttime.  After state (3) and ppid (4) that is 17 more.
    std::string skip;
    for (int i = 5; i <= 21; ++i)
        if (!(in >> skip)) return std::nullopt;
    if (!(in >> st.start_time_ticks)) return std::nullopt;
    return st;
}

std::optional<Stat> read_stat(const std::string& proc_root, pid_t pid) {
    auto text = read_file(pid_path(proc_root, pid, "stat"));
    if (!text) return std::nullopt;
    return parse_stat(*text);
}

std::string read_exe(const std::string& proc_root, pid_t pid) {
    char buf[4096];
    ssize_t n = ::readlink(pid_path(proc_root, pid, "exe").c_str(), buf, sizeof buf - 1);
    if (n <= 0) return "";
    std::string s(buf, static_cast<size_t>(n));
    // The kernel appends " (deleted)" for an unlinked binary; keep the path usable.
    constexpr std::string_view deleted = " (deleted)";
    if (s.size() > deleted.size() && s.ends_with(deleted)) s.resize(s.size() - deleted.size());
    return s;
}

std::string read_cgroup(const std::string& proc_root, pid_t pid) {
    auto text = read_file(pid_path(proc_root, pid, "cgroup"));
    return text ? parse_cgroup_v2(*text) : "";
}

std::optional<uint64_t> read_ns_inode(const std::string& proc_root, pid_t pid,
                                      const std::string& ns) {
    std::string path = pid_path(proc_root, pid, "ns/") + ns;
    struct stat sb;
    if (::stat(path.c_str(), &sb) == 0 && proc_root == "/proc") return sb.st_ino;
    // Fixture trees (and a fallback) hold a link text such as "mnt:[4026531841]".
    char buf[256];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n <= 0) {
        if (::stat(path.c_str(), &sb) == 0) return sb.st_ino;
        return std::nullopt;
    }
    std::string_view s(buf, static_cast<size_t>(n));
    auto l = s.find('['), r = s.find(']');
    uint64_t ino = 0;
    if (l == std::string_view::npos || r == std::string_view::npos || r <= l + 1) return std::nullopt;
    if (!parse_num(s.substr(l + 1, r - l - 1), &ino)) return std::nullopt;
    return ino;
}

std::vector<pid_t> list_pids(const std::string& proc_root) {
    std::vector<pid_t> out;
    DIR* d = ::opendir(proc_root.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        pid_t pid = 0;
        std::string_view name(e->d_name);
        auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (ec == std::errc() && p == name.data() + name.size() && pid > 0) out.push_back(pid);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

bool maps_library(const std::string& proc_root, pid_t pid, const std::string& lib) {
    return !mapped_library_path(proc_root, pid,
                                [&](std::string_view base) { return base == lib; })
                .empty();
}

std::string mapped_library_path(const std::string& proc_root, pid_t pid,
                                const std::function<bool(std::string_view)>& match) {
    auto all = mapped_library_paths(proc_root, pid, match);
    return all.empty() ? "" : all.front();
}

std::vector<std::string> mapped_library_paths(const std::string& proc_root, pid_t pid,
                                              const std::function<bool(std::string_view)>& match) {
    auto text = read_file(pid_path(proc_root, pid, "maps"), 16 << 20);
    return text ? parse_maps_paths(*text, match) : std::vector<std::string>{};
}

std::vector<std::string> parse_nul_list(const std::string& data) { return split_nul(data); }

std::string parse_cgroup_v2(std::string_view text) {
    while (!text.empty()) {
        auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        if (line.starts_with("0::")) return std::string(line.substr(3));
    }
    return "";
}

std::vector<std::string> parse_maps_paths(std::string_view text,
                                          const std::function<bool(std::string_view)>& match) {
    std::vector<std::string> out;
    while (!text.empty()) {
        auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        auto start = line.find('/');
        if (start == std::string_view::npos) continue;
        std::string_view path = line.substr(start);
        if (path.ends_with(" (deleted)")) path.remove_suffix(10);
        std::string_view base = path.substr(path.rfind('/') + 1);
        if (!match(base)) continue;
        if (std::find(out.begin(), out.end(), path) == out.end()) out.emplace_back(path);
    }
    return out;
}

}  // namespace jvmwatch::proc
