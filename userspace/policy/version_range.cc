#include "userspace/policy/version_range.h"

#include <algorithm>
#include <cctype>

namespace jvmwatch::policy {

namespace {
std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Missing components count as 0.
int compare(const std::vector<int>& a, const std::vector<int>& b) {
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        int x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}
}  // namespace

std::vector<int> parse_jdk_version(const std::string& v) {
    std::vector<int> out;
    size_t i = 0;
    while (i < v.size()) {
        if (!std::isdigit(static_cast<unsigned char>(v[i]))) break;
        long n = 0;
        while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
            n = n * 10 + (v[i] - '0');
            if (n > 1000000) return {};
            ++i;
        }
        out.push_back(static_cast<int>(n));
        if (i < v.size() && (v[i] == '.' || v[i] == '_')) ++i;
        else break;  // "-ea", "+7": build suffixes end the number
    }
    if (out.size() >= 2 && out[0] == 1) out.erase(out.begin());  // 1.8.0 -> 8.0
    return out;
}

std::optional<VersionRange> VersionRange::parse(const std::string& text, std::string* error) {
    VersionRange r;
    r.text_ = text;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string part = trim(text.substr(start, comma == std::string::npos ? std::string::npos
                                                                              : comma - start));
        Bound b{Op::eq, {}};
        size_t k = 0;
        if (part.rfind(">=", 0) == 0) { b.op = Op::ge; k = 2; }
        else if (part.rfind("<=", 0) == 0) { b.op = Op::le; k = 2; }
        else if (part.rfind("==", 0) == 0) { b.op = Op::eq; k = 2; }
        else if (part.rfind(">", 0) == 0) { b.op = Op::gt; k = 1; }
        else if (part.rfind("<", 0) == 0) { b.op = Op::lt; k = 1; }
        else if (part.rfind("=", 0) == 0) { b.op = Op::eq; k = 1; }
        std::string num = trim(part.substr(k));
        bool digits_only = !num.empty() && std::all_of(num.begin(), num.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '_';
        });
        b.v = parse_jdk_version(num);
        if (!digits_only || b.v.empty()) {
            *error = "bad JDK version range \"" + text + "\": expected e.g. \">=11,<21\", got \"" +
                     part + "\"";
            return std::nullopt;
        }
        r.bounds_.push_back(std::move(b));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return r;
}

bool VersionRange::contains(const std::string& version) const {
    auto v = parse_jdk_version(version);
    if (v.empty()) return false;
    for (const auto& b : bounds_) {
        // Compare only the components the bound names: "17" is any 17.x, so "<=17"
        // includes 17.0.15 and ">8" excludes 8u392.
        std::vector<int> head(v.begin(), v.begin() + std::min(v.size(), b.v.size()));
        int c = compare(head, b.v);
        bool ok = (b.op == Op::lt && c < 0) || (b.op == Op::le && c <= 0) ||
                  (b.op == Op::gt && c > 0) || (b.op == Op::ge && c >= 0) ||
                  (b.op == Op::eq && c == 0);
        if (!ok) return false;
    }
    return true;
}

}  // namespace jvmwatch::policy
