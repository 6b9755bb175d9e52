#include "userspace/artifacts/zip_entry.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace jvmwatch::artifacts {

namespace {

// Zip records (APPNOTE.TXT 4.3): signatures and fixed sizes.
constexpr uint32_t kEndSig = 0x06054b50, kCenSig = 0x02014b50, kLocSig = 0x04034b50,
                   kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22, kCenSize = 46, kLocSize = 30, kZip64LocatorSize = 20;
constexpr size_t kMaxComment = 65535;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const unsigned char* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// Exactly `len` bytes at `off`, or false (short file, read error).
bool pread_all(int fd, uint64_t off, size_t len, unsigned char* out) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = ::pread(fd, out + got, len - got, static_cast<off_t>(off + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += static_cast<size_t>(n);
    }
    return true;
}

// A window of the file read in blocks, so walking many small records is not one pread
// each.  bytes() returns nullptr when [off, off+len) is not inside [0, limit).
class BlockReader {
public:
    BlockReader(int fd, uint64_t limit) : fd_(fd), limit_(limit) {}
    const unsigned char* bytes(uint64_t off, size_t len) {
        if (off > limit_ || len > limit_ - off) return nullptr;
        if (off >= start_ && off + len <= start_ + buf_.size()) return buf_.data() + (off - start_);
        size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(len, kBlock), limit_ - off));
        buf_.resize(want);
        if (!pread_all(fd_, off, want, buf_.data())) {
            buf_.clear();
            return nullptr;
        }
        start_ = off;
        return buf_.data();
    }

private:
    static constexpr size_t kBlock = 256 << 10;   // > one largest record (46 + 3 * 64 KiB)
    int fd_;
    uint64_t limit_;
    uint64_t start_ = 0;
    std::vector<unsigned char> buf_;
};

std::string mib(size_t bytes) {
    return bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                   : std::to_string(bytes) + " bytes";
}

// A zip64 end locator right before the end record: the real offsets are elsewhere.
bool zip64_locator_before(int fd, uint64_t end_pos) {
    unsigned char sig[4];
    return end_pos >= kZip64LocatorSize && pread_all(fd, end_pos - kZip64LocatorSize, 4, sig) &&
           le32(sig) == kZip64LocatorSig;
}

struct Located {
    uint64_t base = 0;        // where zip offsets count from (content may be prepended)
    uint64_t cen_start = 0;
    uint64_t cen_end = 0;     // the end record's position
};

// The End Of Central Directory record: at the very end, or followed by exactly its
// comment, within the last 64 KiB + 22 bytes.
std::optional<Located> find_end(int fd, uint64_t size, std::string* error) {
    if (size < kEndSize) {
        *error = "not a zip: no end of central directory";
        return std::nullopt;
    }
    uint64_t from = size > kEndSize + kMaxComment ? size - kEndSize - kMaxComment : 0;
    std::vector<unsigned char> tail(static_cast<size_t>(size - from));
    if (!pread_all(fd, from, tail.size(), tail.data())) {
        *error = "cannot read the end of the file";
        return std::nullopt;
    }
    for (size_t i = tail.size() - kEndSize + 1; i-- > 0;) {
        const unsigned char* e = tail.data() + i;
        if (le32(e) != kEndSig || i + kEndSize + le16(e + 20) != tail.size()) continue;
        uint64_t end_pos = from + i;
        uint16_t entries = le16(e + 10);
        uint32_t cen_size = le32(e + 12), cen_off = le32(e + 16);
        if (entries == 0xFFFF || cen_size == 0xFFFFFFFF || cen_off == 0xFFFFFFFF ||
            zip64_locator_before(fd, end_pos)) {
            *error = "zip64 archive (not supported)";
            return std::nullopt;
        }
        if (le16(e + 4) != 0 || le16(e + 6) != 0) {
            *error = "multi-disk zip (not supported)";
            return std::nullopt;
        }
        if (cen_size > end_pos || cen_off > end_pos - cen_size) {
            *error = "corrupt zip: central directory outside the file";
            return std::nullopt;
        }
        Located l;
        l.cen_start = end_pos - cen_size;
        l.base = l.cen_start - cen_off;
        l.cen_end = end_pos;
        return l;
    }
    *error = "not a zip: no end of central directory";
    return std::nullopt;
}

struct Entry {
    uint16_t flags = 0, method = 0;
    uint32_t csize = 0, usize = 0, loc_off = 0;
};

// The first central directory entry named exactly `want`.
std::optional<Entry> find_entry(int fd, const Located& z, std::string_view want, std::string_view what,
                                size_t max_entries, std::string* error) {
    BlockReader r(fd, z.cen_end);
    uint64_t pos = z.cen_start;
    for (size_t n = 0;; ++n) {
        const unsigned char* h = r.bytes(pos, kCenSize);
        if (!h || le32(h) != kCenSig) break;   // the walk ends where the records do
        if (n >= max_entries) {
            *error = "more than " + std::to_string(max_entries) +
                     " central directory entries before the " + std::string(what);
            return std::nullopt;
        }
        uint16_t nlen = le16(h + 28), elen = le16(h + 30), clen = le16(h + 32);
        Entry e{le16(h + 8), le16(h + 10), le32(h + 20), le32(h + 24), le32(h + 42)};
        const unsigned char* name = r.bytes(pos + kCenSize, nlen);
        if (!name) {
            *error = "corrupt zip: central directory entry runs past its end";
            return std::nullopt;
        }
        if (nlen == want.size() && std::memcmp(name, want.data(), nlen) == 0) return e;
        pos += kCenSize + nlen + elen + clen;
    }
    *error = "no " + std::string(want);
    return std::nullopt;
}

std::optional<std::string> inflate_raw(int fd, uint64_t off, uint64_t csize, size_t max_out,
                                       const std::string& what, std::string* error) {
    // A real deflate stream is never much larger than its output (stored blocks add 5
    // bytes per 64 KiB): more input than this is a stream built to burn time.
    uint64_t max_in = max_out + max_out / 16 + 1024;
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) {
        *error = what + ": zlib init failed";
        return std::nullopt;
    }
    std::string out(max_out + 1, '\0');   // one more byte tells a larger entry
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    std::vector<unsigned char> in(64 << 10);
    uint64_t read = 0;
    int rc = Z_OK;
    std::string why;
    while (rc == Z_OK) {
        if (zs.avail_in == 0) {
            if (read >= csize) { why = what + ": truncated deflate data"; break; }
            if (read >= max_in) { why = what + ": deflate data larger than " + mib(max_in); break; }
            size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), csize - read));
            if (!pread_all(fd, off + read, n, in.data())) { why = what + ": read failed"; break; }
            read += n;
            zs.next_in = in.data();
            zs.avail_in = static_cast<uInt>(n);
        }
        rc = inflate(&zs, Z_NO_FLUSH);
        if (zs.avail_out == 0 && rc != Z_STREAM_END) { why = what + " larger than " + mib(max_out); break; }
    }
    size_t produced = out.size() - zs.avail_out;
    inflateEnd(&zs);
    if (why.empty() && rc != Z_STREAM_END) why = what + ": corrupt deflate data";
    if (why.empty() && produced > max_out) why = what + " larger than " + mib(max_out);
    if (!why.empty()) {
        *error = why;
        return std::nullopt;
    }
    out.resize(produced);
    return out;
}

}  // namespace

std::optional<std::string> read_zip_entry(int fd, uint64_t file_size, std::string_view name,
                                          const std::string& what, const ZipLimits& limits,
                                          std::string* error) {
    auto z = find_end(fd, file_size, error);
    if (!z) return std::nullopt;
    auto e = find_entry(fd, *z, name, what, limits.max_entries, error);
    if (!e) return std::nullopt;
    unsigned char loc[kLocSize];
    uint64_t loc_pos = z->base + e->loc_off;
    if (loc_pos > file_size || file_size - loc_pos < kLocSize || !pread_all(fd, loc_pos, kLocSize, loc) ||
        le32(loc) != kLocSig) {
        *error = "corrupt zip: no local header for the " + what;
        return std::nullopt;
    }
    uint64_t data = loc_pos + kLocSize + le16(loc + 26) + le16(loc + 28);
    if (data > file_size || e->csize > file_size - data) {
        *error = "corrupt zip: " + what + " data outside the file";
        return std::nullopt;
    }
    if (e->flags & 1) {
        *error = what + " encrypted";
        return std::nullopt;
    }
    std::string bytes;
    if (e->method == 0) {
        if (e->csize > limits.max_entry_bytes) {
            *error = what + " larger than " + mib(limits.max_entry_bytes);
            return std::nullopt;
        }
        bytes.resize(e->csize);
        if (!pread_all(fd, data, e->csize, reinterpret_cast<unsigned char*>(bytes.data()))) {
            *error = what + ": read failed";
            return std::nullopt;
        }
    } else if (e->method == 8) {
        if (e->usize > limits.max_entry_bytes) {   // claimed: nothing is inflated
            *error = what + " larger than " + mib(limits.max_entry_bytes);
            return std::nullopt;
        }
        auto t = inflate_raw(fd, data, e->csize, limits.max_entry_bytes, what, error);
        if (!t) return std::nullopt;
        bytes = std::move(*t);
    } else {
        *error = what + " compressed with method " + std::to_string(e->method) +
                 " (not stored or deflated)";
        return std::nullopt;
    }
    return bytes;
}

}  // namespace jvmwatch::artifacts
