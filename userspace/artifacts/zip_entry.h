// One entry of a zip file another user wrote, read within bounds: the End Of Central
// Directory is looked for in the last 64 KiB + 22 bytes only (and must be followed by
// exactly its comment), the central directory walk is bounded (entries, and the bytes
// the end record gives it), every offset and size is checked against the file's size,
// zip64, multi-disk and encrypted entries are refused, and an entry is read (stored) or
// inflated (deflate, raw window) into at most max_entry_bytes: a 4 GiB claim costs
// nothing.  Offsets count from the start of the zip data, so content may be prepended
// (as the JDK's launcher allows).  Reads only through pread() on the caller's descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jvmwatch::artifacts {

struct ZipLimits {
    size_t max_entry_bytes = 1u << 20;   // uncompressed
    size_t max_entries = 65536;          // central directory entries walked
};

// The bytes of the first entry named exactly `name` (case-sensitive) in the zip in `fd`
// (file_size bytes).  nullopt and *error (one line; `what` names the entry in it, e.g.
// "manifest larger than 1 MiB", "not a zip: no end of central directory").
std::optional<std::string> read_zip_entry(int fd, uint64_t file_size, std::string_view name,
                                          const std::string& what, const ZipLimits& limits,
                                          std::string* error);

}  // namespace jvmwatch::artifacts
