#include "userspace/daemon/attach_request.h"

#include <charconv>

namespace jvmwatch::daemon {

void RequestAssembler::add(std::string_view chunk, size_t moved) {
    if (moved > chunk.size()) truncated_ = true;
    size_t room = kMaxBytes - buf_.size();
    if (chunk.size() > room) {
        truncated_ = true;
        chunk = chunk.substr(0, room);
    }
    buf_.append(chunk);
}

namespace {

// Splits at NULs; returns the terminated fields and whether bytes trail unterminated.
std::vector<std::string> nul_fields(std::string_view s, bool* trailing) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = s.find('\0', i);
        if (j == std::string_view::npos) {
            *trailing = true;
            out.emplace_back(s.substr(i));
            return out;
        }
        out.emplace_back(s.substr(i, j - i));
        i = j + 1;
    }
    *trailing = false;
    return out;
}

}  // namespace

AttachRequest RequestAssembler::parse_request(std::string_view bytes) {
    AttachRequest r;
    if (bytes.size() < 2 || bytes[1] != '\0') return r;
    if (bytes[0] == '1') {
        r.protocol = 1;
        bool trailing = false;
        auto f = nul_fields(bytes.substr(2), &trailing);
        if (!f.empty()) r.operation = f[0];
        for (size_t i = 1; i < f.size() && i <= 3; ++i) r.args.push_back(f[i]);
        r.complete = !trailing && f.size() >= 4;
        return r;
    }
    if (bytes[0] == '2') {
        r.protocol = 2;
        std::string_view rest = bytes.substr(2);
        size_t nul = rest.find('\0');
        if (nul == std::string_view::npos) return r;
        size_t size = 0;
        auto sz = rest.substr(0, nul);
        auto [p, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), size);
        if (ec != std::errc() || p != sz.data() + sz.size()) return r;
        std::string_view body = rest.substr(nul + 1);
        r.complete = body.size() >= size;
        if (body.size() > size) body = body.substr(0, size);
        bool trailing = false;
        auto f = nul_fields(body, &trailing);
        if (!f.empty()) {
            size_t sp = f[0].find(' ');
            r.operation = f[0].substr(0, sp);
            if (sp != std::string::npos) r.options = f[0].substr(sp + 1);
        }
        for (size_t i = 1; i < f.size(); ++i) r.args.push_back(f[i]);
        if (trailing) r.complete = false;
        return r;
    }
    return r;
}

void ReplyAssembler::add(std::string_view chunk) {
    size_t room = kMaxBytes - buf_.size();
    buf_.append(chunk.substr(0, std::min(room, chunk.size())));
}

std::optional<int> ReplyAssembler::result_code(bool at_end) const {
    size_t nl = buf_.find('\n');
    if (nl == std::string::npos && !at_end) return std::nullopt;
    std::string_view line(buf_.data(), nl == std::string::npos ? buf_.size() : nl);
    if (line.empty()) return std::nullopt;
    int v = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc() || p != line.data() + line.size()) return std::nullopt;
    return v;
}

std::string ReplyAssembler::detail(size_t max) const {
    size_t nl = buf_.find('\n');
    if (nl == std::string::npos) return "";
    std::string d = buf_.substr(nl + 1, max);
    while (!d.empty() && (d.back() == '\n' || d.back() == '\r')) d.pop_back();
    return d;
}

}  // namespace jvmwatch::daemon
