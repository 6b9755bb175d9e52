// A private copy of an installed JDK whose lib/server/libjvm.so is stripped (binutils
// `strip`): a JDK build without the symbols the JVM-side probes need, for the tests of
// the client-side fallback.  The copy costs a few directory entries, not 300 MB: files
// are hard links to the original (symlinks when the copy is on another file system),
// except bin/java and lib/server/libjvm.so.  Those two must be files of the copy: the
// launcher finds libjvm.so relative to its own real path (/proc/self/exe), and the JVM
// takes java.home from libjvm.so's real path, so a symlink would lead back to the
// original JDK.  Removed (recursively) on destruction.
#pragma once

#include <string>
#include <vector>

#include "tests/common/support.h"

namespace jvmwatch::test {

// The JDKs installed in /usr/lib/jvm: each directory (symlinks to others skipped)
// holding lib/server/libjvm.so, canonical, sorted.
std::vector<std::string> installed_jdks();
// The newest installed JDK other than `first` (Temurin 25 on the image), or "".
std::string other_jdk(const std::string& first);

class StrippedJdk {
public:
    enum class Links {
        hard_if_possible,   // hard links; symlinks where the file system refuses them
        symlinks,           // symlinks (and a copied bin/java) as on another file system
    };
    // Copies `jdk_home` (e.g. /usr/lib/jvm/java-17-openjdk-amd64) under a TempDir in
    // `base`.  Throws std::runtime_error naming the cause when it cannot.
    explicit StrippedJdk(const std::string& jdk_home, Links links = Links::hard_if_possible,
                         const std::string& base = "/var/tmp");
    StrippedJdk(const StrippedJdk&) = delete;
    StrippedJdk& operator=(const StrippedJdk&) = delete;

    const std::string& java_home() const { return home_; }
    std::string java() const { return home_ + "/bin/java"; }
    std::string libjvm() const { return home_ + "/lib/server/libjvm.so"; }
    // Whether the tree's other files are hard links (else symlinks) to the original.
    bool hard_linked() const { return hard_linked_; }

private:
    TempDir dir_;
    std::string home_;
    bool hard_linked_ = true;
};

}  // namespace jvmwatch::test
