#include "userspace/cli/doctor_jdk.h"

#include <fcntl.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>

#include "attach/safe_fs.h"
#include "userspace/cli/printable.h"

namespace jvmwatch::cli {

namespace {

namespace fs = std::filesystem;
using observer::JdkLibrary;
using observer::LibraryProbes;

constexpr size_t kReleaseCap = 64 * 1024;   // a JDK's release file is ~1-2 KiB

// Where a JDK keeps its libraries: JDK 9+ (and a JRE 8: no jre/) under lib/, a JDK 8
// under jre/lib/<arch>/ (amd64 for x86_64).
struct Layout {
    std::string libjvm;          // relative to the home
    std::string libinstrument;
};

std::string arch_dir() {
    struct utsname u{};
    if (::uname(&u) != 0) return "amd64";
    std::string m = u.machine;
    return m == "x86_64" ? "amd64" : m;
}

std::vector<Layout> layouts() {
    std::string a = arch_dir();
    return {{"lib/server/libjvm.so", "lib/libinstrument.so"},
            {"jre/lib/" + a + "/server/libjvm.so", "jre/lib/" + a + "/libinstrument.so"},
            {"lib/" + a + "/server/libjvm.so", "lib/" + a + "/libinstrument.so"}};
}

// The layout whose libjvm.so is there, or why none is: the refusal of one that is there
// (a symlink, a FIFO), else the first layout's "No such file".
std::optional<Layout> find_layout(const std::string& home, std::string* why) {
    std::optional<std::string> first_why;
    for (const auto& l : layouts()) {
        safefs::Failure fail;
        if (safefs::open_path(AT_FDCWD, home + "/" + l.libjvm, safefs::Resolve::no_symlinks,
                              safefs::Expect{}, nullptr, &fail))
            return l;
        if (fail.err != ENOENT && fail.err != ENOTDIR) {
            *why = fail.why;
            return std::nullopt;
        }
        if (!first_why) first_why = fail.why;
    }
    *why = *first_why;
    return std::nullopt;
}

// Opens a library of the JDK for reading: no symlink anywhere on the path, a regular file.
safefs::UniqueFd open_library(const std::string& path, std::string* why) {
    safefs::Failure fail;
    auto opath = safefs::open_path(AT_FDCWD, path, safefs::Resolve::no_symlinks,
                                   safefs::Expect{}, nullptr, &fail);
    if (opath) {
        auto fd = safefs::reopen_for_read(opath.get(), &fail);
        if (fd) return fd;
    }
    *why = fail.why;
    return {};
}

// JAVA_VERSION="17.0.15" from a release file.
std::string java_version(const std::string& home) {
    auto text = safefs::read_file(AT_FDCWD, home + "/release", safefs::Resolve::no_symlinks,
                                  kReleaseCap);
    if (!text) return "";
    std::string_view rest(*text);
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        constexpr std::string_view key = "JAVA_VERSION=";
        if (line.substr(0, key.size()) != key) continue;
        line.remove_prefix(key.size());
        if (line.size() >= 2 && line.front() == '"' && line.back() == '"')
            line = line.substr(1, line.size() - 2);
        return std::string(line.substr(0, 64));
    }
    return "";
}

std::string join(const std::vector<std::string_view>& names) {
    std::string s;
    for (auto n : names) {
        if (!s.empty()) s += ", ";
        s += n;
    }
    return s;
}

std::vector<std::string_view> found_probes(const JdkReport& r) {
    std::vector<std::string_view> out;
    for (const auto* lib : {&r.libjvm, &r.libinstrument})
        for (const auto& s : lib->sites) out.push_back(s.probe);
    return out;
}

std::vector<std::string_view> missing_probes(const JdkReport& r) {
    auto found = found_probes(r);
    std::vector<std::string_view> out;
    for (const auto& spec : observer::jdk_probe_table())
        if (std::find(found.begin(), found.end(), spec.id) == found.end()) out.push_back(spec.id);
    return out;
}

// Why a libjvm.so without read_request gives no JVM-side view.
std::string why_client_side(const LibraryProbes& jvm) {
    if (!jvm.error.empty()) return "libjvm.so: " + jvm.error;
    if (!jvm.has_symtab)
        return jvm.has_dynsym ? "libjvm.so has no symbol table (stripped): the attach listener's "
                                "functions are not exported"
                              : "libjvm.so has no symbol tables at all";
    return "libjvm.so has no known attach listener read_request symbol (an unsupported JDK build)";
}

}  // namespace

UprobeSupport probe_uprobes(const std::string& sysfs_root) {
    UprobeSupport u;
    // sysfs is the kernel's, but its device entries are relative symlinks: resolve them
    // inside the sysfs root.  The type file is a number of a few bytes.
    const std::string rel = "bus/event_source/devices/uprobe/type";
    safefs::Failure fail;
    safefs::Expect dir;
    dir.kinds = safefs::Kind::directory;
    auto root = safefs::open_path(AT_FDCWD, sysfs_root, safefs::Resolve::no_symlinks, dir,
                                  nullptr, &fail);
    std::optional<std::string> text;
    if (root) text = safefs::read_file(root.get(), rel, safefs::Resolve::in_root, 64, {}, &fail);
    if (!text) {
        u.why = "no uprobe PMU (" + sysfs_root + "/" + rel + ": " +
                (fail.err ? std::strerror(fail.err) : fail.why) + "); the kernel needs CONFIG_UPROBES";
        return u;
    }
    try {
        u.pmu_type = std::stoi(*text);
        u.available = true;
    } catch (const std::exception&) {
        u.why = sysfs_root + "/" + rel + " does not hold a number";
    }
    return u;
}

std::vector<std::string> find_jdks(const std::string& jvm_dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(jvm_dir, ec)) {
        if (e.is_symlink(ec) || !e.is_directory(ec)) continue;
        std::string home = e.path().string();
        if (check_jdk_home(home).empty()) out.push_back(home);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string check_jdk_home(const std::string& home) {
    std::string why;
    return find_layout(home, &why) ? "" : why;   // names the path
}

JdkReport inspect_jdk(const std::string& home, const UprobeSupport& kernel) {
    JdkReport r;
    r.home = home;
    r.version = java_version(home);
    r.total = observer::jdk_probe_table().size();

    std::string why;
    auto layout = find_layout(home, &why);
    if (!layout) {
        r.libjvm.error = why;
        r.why = why_client_side(r.libjvm);
        return r;
    }
    if (auto fd = open_library(home + "/" + layout->libjvm, &why))
        r.libjvm = observer::resolve_probes(fd.get(), JdkLibrary::libjvm);
    else
        r.libjvm.error = why;
    r.libinstrument.library = JdkLibrary::libinstrument;
    if (auto fd = open_library(home + "/" + layout->libinstrument, &why))
        r.libinstrument = observer::resolve_probes(fd.get(), JdkLibrary::libinstrument);
    else
        r.libinstrument_error = why;
    r.found = r.libjvm.sites.size() + r.libinstrument.sites.size();

    if (!r.libjvm.site("read_request"))
        r.why = why_client_side(r.libjvm);
    else if (!kernel.available)
        r.why = "this kernel has no uprobes: " + kernel.why;
    else
        r.supported = true;
    return r;
}

std::string describe(const JdkReport& r) {
    std::string s = printable(r.home) + "  " + (r.version.empty() ? "version ?" : printable(r.version)) + "  ";
    if (!r.supported) return s + "client-side only: " + printable(r.why);
    s += "JVM-side probes: supported (" + std::to_string(r.found) + " of " + std::to_string(r.total) +
         ": " + join(found_probes(r)) + ")";
    if (!r.libinstrument_error.empty()) s += "; libinstrument.so: " + printable(r.libinstrument_error);
    return s;
}

std::string describe(const UprobeSupport& u) {
    if (u.available) return "uprobes: yes (uprobe PMU type " + std::to_string(u.pmu_type) + ")";
    return "uprobes: no (" + u.why + ")";
}

nlohmann::json to_json(const JdkReport& r) {
    auto names = [](const std::vector<std::string_view>& v) {
        nlohmann::json a = nlohmann::json::array();
        for (auto n : v) a.push_back(std::string(n));
        return a;
    };
    auto library = [](const LibraryProbes& lib, const std::string& open_error) {
        nlohmann::json o{{"has_symtab", lib.has_symtab}, {"has_dynsym", lib.has_dynsym}};
        std::string err = open_error.empty() ? lib.error : open_error;
        if (!err.empty()) o["error"] = err;
        return o;
    };
    nlohmann::json o{
        {"home", r.home},
        {"version", r.version.empty() ? nlohmann::json() : nlohmann::json(r.version)},
        {"visibility", r.supported ? "jvm" : "client"},
        {"probes_found", names(found_probes(r))},
        {"probes_missing", names(missing_probes(r))},
        {"probes_total", r.total},
        {"libjvm", library(r.libjvm, "")},
        {"libinstrument", library(r.libinstrument, r.libinstrument_error)},
    };
    if (!r.supported) o["why"] = r.why;
    return o;
}

nlohmann::json to_json(const UprobeSupport& u) {
    nlohmann::json o{{"available", u.available}};
    if (u.available) o["pmu_type"] = u.pmu_type;
    else o["why"] = u.why;
    return o;
}

}  // namespace jvmwatch::cli
