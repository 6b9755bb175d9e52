#include "userspace/api/since.h"

#include <time.h>

#include <cctype>

namespace jvmwatch::api {

namespace {

// Reads exactly n digits at *p.
bool digits(std::string_view s, size_t* p, size_t n, int* out) {
    if (*p + n > s.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[*p + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool expect(std::string_view s, size_t* p, char c) {
    if (*p >= s.size() || std::toupper(static_cast<unsigned char>(s[*p])) != c) return false;
    ++*p;
    return true;
}

}  // namespace

std::optional<int64_t> parse_rfc3339_ns(std::string_view s) {
    if (s.size() > 64) return std::nullopt;
    size_t p = 0;
    int y, mo, d, h, mi, sec;
    if (!digits(s, &p, 4, &y) || !expect(s, &p, '-') || !digits(s, &p, 2, &mo) || !expect(s, &p, '-') ||
        !digits(s, &p, 2, &d) || !expect(s, &p, 'T') || !digits(s, &p, 2, &h) || !expect(s, &p, ':') ||
        !digits(s, &p, 2, &mi) || !expect(s, &p, ':') || !digits(s, &p, 2, &sec))
        return std::nullopt;
    if (y < 1970 || y > 2261 ||   // nanoseconds in an int64_t end in 2262
         mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return std::nullopt;
    int64_t frac = 0;
    if (p < s.size() && s[p] == '.') {
        ++p;
        size_t n = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
            if (n < 9) frac = frac * 10 + (s[p] - '0');
            ++n;
            ++p;
        }
        if (n == 0) return std::nullopt;
        for (size_t i = n; i < 9; ++i) frac *= 10;
    }
    int64_t offset_s = 0;
    if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
        ++p;
    } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p] == '-' ? -1 : 1;
        ++p;
        int oh, om;
        if (!digits(s, &p, 2, &oh) || !expect(s, &p, ':') || !digits(s, &p, 2, &om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return std::nullopt;
    }
    if (p != s.size()) return std::nullopt;
    struct tm tm = {};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) return std::nullopt;   // 2026-02-31 normalised into March
    return (static_cast<int64_t>(t) - offset_s) * 1'000'000'000 + frac;
}

std::optional<int64_t> parse_duration_ns(std::string_view s) {
    size_t p = 0;
    int64_t v = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        if (v > 1'000'000'000) return std::nullopt;   // far beyond any ring's reach
        v = v * 10 + (s[p] - '0');
        ++p;
    }
    if (p == 0) return std::nullopt;
    std::string_view unit = s.substr(p);
    int64_t mul;
    if (unit == "ms") mul = 1'000'000;
    else if (unit == "s") mul = 1'000'000'000;
    else if (unit == "m") mul = 60'000'000'000;
    else if (unit == "h") mul = 3'600'000'000'000;
    else if (unit == "d") mul = 86'400'000'000'000;
    else return std::nullopt;
    if (v > INT64_MAX / mul) return std::nullopt;
    return v * mul;
}

std::optional<int64_t> parse_since(std::string_view text, int64_t now_ns) {
    if (auto d = parse_duration_ns(text)) return now_ns - *d;
    return parse_rfc3339_ns(text);
}

}  // namespace jvmwatch::api
