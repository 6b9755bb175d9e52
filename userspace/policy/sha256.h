// SHA-256 (FIPS 180-4), for agent pins and content-hash names of staged agent copies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jvmwatch::policy {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t len);
    std::array<uint8_t, 32> finish();
    static std::string hex(const std::array<uint8_t, 32>& d);

private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// Hash of an open file descriptor's content from offset 0 (pread), reading at most
// max_bytes: nullopt on a read error or a larger file (*too_big; a huge sparse file is
// never read through).
std::optional<std::string> sha256_fd(int fd, uint64_t max_bytes, bool* too_big = nullptr);

}  // namespace jvmwatch::policy
