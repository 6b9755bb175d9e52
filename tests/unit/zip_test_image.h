// Zip files built in memory for the jar manifest reader's tests (and its fuzz seeds):
// stored or deflated entries, and hooks to make each header lie.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jvmwatch::test {

struct ZipEntry {
    std::string name;
    std::string data;               // uncompressed
    bool deflate = false;
    // Lies, when set: the sizes written in the central directory.
    int64_t claim_usize = -1;
    int64_t claim_csize = -1;
    uint16_t method_override = 0xFFFF;
};

inline void put16(std::string& s, uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
}
inline void put32(std::string& s, uint32_t v) {
    put16(s, static_cast<uint16_t>(v & 0xffff));
    put16(s, static_cast<uint16_t>(v >> 16));
}

inline std::string raw_deflate(const std::string& in) {
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, in.size()) + 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

struct ZipImage {
    std::string bytes;
    size_t cen_offset = 0;          // where the central directory starts
    size_t end_offset = 0;          // where the end record starts
};

// `prefix` is prepended (offsets stay relative to the zip data, as `zip -A` would not);
// `comment` goes after the end record.
inline ZipImage build_zip(const std::vector<ZipEntry>& entries, const std::string& prefix = "",
                          const std::string& comment = "") {
    std::string body, cen;
    for (const auto& e : entries) {
        std::string payload = e.deflate ? raw_deflate(e.data) : e.data;
        uint16_t method = e.method_override != 0xFFFF ? e.method_override : (e.deflate ? 8 : 0);
        uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(e.data.data()),
                                                   static_cast<uInt>(e.data.size())));
        uint32_t csize = e.claim_csize >= 0 ? static_cast<uint32_t>(e.claim_csize) : static_cast<uint32_t>(payload.size());
        uint32_t usize = e.claim_usize >= 0 ? static_cast<uint32_t>(e.claim_usize) : static_cast<uint32_t>(e.data.size());
        uint32_t loc = static_cast<uint32_t>(body.size());
        put32(body, 0x04034b50);
        put16(body, 20); put16(body, 0); put16(body, method); put16(body, 0); put16(body, 0);
        put32(body, crc); put32(body, static_cast<uint32_t>(payload.size()));
        put32(body, static_cast<uint32_t>(e.data.size()));
        put16(body, static_cast<uint16_t>(e.name.size())); put16(body, 0);
        body += e.name;
        body += payload;
        put32(cen, 0x02014b50);
        put16(cen, 20); put16(cen, 20); put16(cen, 0); put16(cen, method); put16(cen, 0); put16(cen, 0);
        put32(cen, crc); put32(cen, csize); put32(cen, usize);
        put16(cen, static_cast<uint16_t>(e.name.size())); put16(cen, 0); put16(cen, 0);
        put16(cen, 0); put16(cen, 0); put32(cen, 0); put32(cen, loc);
        cen += e.name;
    }
    ZipImage z;
    z.bytes = prefix + body;
    z.cen_offset = z.bytes.size();
    z.bytes += cen;
    z.end_offset = z.bytes.size();
    put32(z.bytes, 0x06054b50);
    put16(z.bytes, 0); put16(z.bytes, 0);
    uint16_t n = entries.size() > 0xFFFE ? 0xFFFE : static_cast<uint16_t>(entries.size());
    put16(z.bytes, n); put16(z.bytes, n);
    put32(z.bytes, static_cast<uint32_t>(cen.size()));
    put32(z.bytes, static_cast<uint32_t>(body.size()));
    put16(z.bytes, static_cast<uint16_t>(comment.size()));
    z.bytes += comment;
    return z;
}

}  // namespace jvmwatch::test
