#include "tests/common/jdk_copy.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace jvmwatch::test {

namespace fs = std::filesystem;

std::vector<std::string> installed_jdks() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/usr/lib/jvm", ec)) {
        if (e.is_symlink(ec) || !e.is_directory(ec)) continue;
        if (fs::is_regular_file(e.path() / "lib/server/libjvm.so", ec)) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string other_jdk(const std::string& first) {
    auto all = installed_jdks();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        if (*it != first) return *it;
    return "";
}

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& p, int err) {
    throw std::runtime_error("StrippedJdk: " + what + " " + p.string() + ": " + std::strerror(err));
}

// A symlink of the original tree, re-made in the copy: a relative target that stays in
// the tree stays relative (it then names the copy's file), any other is made absolute
// so that it still names what it named.
void copy_symlink(const fs::path& from, const fs::path& to, const fs::path& src_root) {
    fs::path target = fs::read_symlink(from);
    if (target.is_relative()) {
        fs::path resolved = (from.parent_path() / target).lexically_normal();
        auto rel = resolved.lexically_relative(src_root);
        if (rel.empty() || *rel.begin() == "..") target = resolved;
    }
    if (::symlink(target.c_str(), to.c_str()) != 0) fail("symlink", to, errno);
}

}  // namespace

StrippedJdk::StrippedJdk(const std::string& jdk_home, Links links, const std::string& base)
    : dir_("jvmwatch-jdk", base), hard_linked_(links == Links::hard_if_possible) {
    std::error_code ec;
    fs::path src = fs::canonical(jdk_home, ec);
    if (ec) throw std::runtime_error("StrippedJdk: " + jdk_home + ": " + ec.message());
    if (!fs::is_regular_file(src / "bin/java") || !fs::is_regular_file(src / "lib/server/libjvm.so"))
        throw std::runtime_error("StrippedJdk: " + src.string() + " has no bin/java and lib/server/libjvm.so");
    fs::path dst = fs::path(dir_.path()) / src.filename();
    home_ = dst.string();
    if (::mkdir(dst.c_str(), 0755) != 0) fail("mkdir", dst, errno);

    const fs::path java = "bin/java", libjvm = "lib/server/libjvm.so";
    for (auto it = fs::recursive_directory_iterator(src); it != fs::recursive_directory_iterator(); ++it) {
        fs::path rel = it->path().lexically_relative(src);
        fs::path to = dst / rel;
        if (it->is_symlink()) {
            copy_symlink(it->path(), to, src);
        } else if (it->is_directory()) {
            if (::mkdir(to.c_str(), 0755) != 0) fail("mkdir", to, errno);
        } else if (rel == libjvm) {
            // strip -o writes a new file: the original is never touched.
            std::string out;
            int rc = run_command({"strip", "-o", to.string(), it->path().string()}, &out);
            if (rc != 0) throw std::runtime_error("StrippedJdk: strip exited " + std::to_string(rc) + ": " + out);
        } else if (links == Links::hard_if_possible && ::link(it->path().c_str(), to.c_str()) == 0) {
            // A hard link is the copy's own path: bin/java's /proc/self/exe names the copy.
        } else if (links == Links::symlinks || errno == EXDEV || errno == EPERM) {
            // EPERM: fs.protected_hardlinks refuses a link to another user's file.
            hard_linked_ = false;
            if (rel == java) {
                fs::copy_file(it->path(), to, ec);
                if (ec) throw std::runtime_error("StrippedJdk: copy " + to.string() + ": " + ec.message());
            } else if (::symlink(it->path().c_str(), to.c_str()) != 0) {
                fail("symlink", to, errno);
            }
        } else {
            fail("link", to, errno);
        }
    }
}

}  // namespace jvmwatch::test
