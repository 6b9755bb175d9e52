// The jar manifest reader (userspace/artifacts/jar_manifest.*): the input is a whole file
// as another user could plant it as an agent jar (read through a memfd, pread only), and
// also the text of a manifest.  Invariants: no crash, no sanitizer report, no exception;
// exactly one of a result and a one-line error; values within the cap and one line each;
// the same text stored as META-INF/MANIFEST.MF in a zip reads as the text parses.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/zip_test_image.h"
#include "userspace/artifacts/jar_manifest.h"

namespace {

using namespace jvmwatch::artifacts;

int input_fd() {
    static int fd = ::memfd_create("jar_manifest_fuzzer", MFD_CLOEXEC);
    return fd;
}

void put_file(const std::string& bytes) {
    int fd = input_fd();
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(::ftruncate(fd, 0) == 0);
    if (!bytes.empty() && ::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
        std::abort();
}

std::optional<std::string>* fields(JarManifest& m, size_t i) {
    std::optional<std::string>* f[] = {&m.agent_class, &m.premain_class, &m.launcher_agent_class,
                                       &m.can_retransform_classes, &m.can_redefine_classes,
                                       &m.boot_class_path, &m.implementation_title,
                                       &m.implementation_version, &m.implementation_vendor};
    return i < std::size(f) ? f[i] : nullptr;
}

void check_result(std::optional<JarManifest>& m, const std::string& err, size_t max_value) {
    FUZZ_CHECK(m.has_value() == err.empty());
    FUZZ_CHECK(err.find('\n') == std::string::npos);
    if (!m) return;
    for (size_t i = 0; auto* f = fields(*m, i); ++i) {
        if (!*f) continue;
        FUZZ_CHECK((*f)->size() <= max_value);
        FUZZ_CHECK((*f)->find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    }
}

bool same(JarManifest& a, JarManifest& b) {
    for (size_t i = 0; fields(a, i); ++i)
        if (*fields(a, i) != *fields(b, i)) return false;
    return a.truncated == b.truncated;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ManifestLimits limits;
    limits.max_manifest_bytes = 64 << 10;   // keeps runs fast; the logic is the same
    limits.max_entries = 4096;
    limits.max_value = 64;
    const std::string in(reinterpret_cast<const char*>(data), size);

    // The input as an agent file.
    put_file(in);
    std::string err;
    auto m = read_jar_manifest(input_fd(), size, limits, &err);
    check_result(m, err, limits.max_value);

    // The input as manifest text: parsed, and read back from a zip that stores it.
    std::string perr;
    auto p = parse_manifest(in, limits.max_value, &perr);
    check_result(p, perr, limits.max_value);
    if (size <= limits.max_manifest_bytes) {
        const std::string zip = jvmwatch::test::build_zip({{"META-INF/MANIFEST.MF", in}}).bytes;
        put_file(zip);
        std::string zerr;
        auto z = read_jar_manifest(input_fd(), zip.size(), limits, &zerr);
        FUZZ_CHECK(z.has_value() == p.has_value());
        FUZZ_CHECK(zerr == perr);
        if (z) FUZZ_CHECK(same(*z, *p));
    }
    return 0;
}
