// JDK version ranges such as ">=11,<21" or "17" (any 17.x), compared numerically.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace jvmwatch::policy {

// "17.0.15" -> {17,0,15}; "1.8.0_392" -> {8,0,392} (the old 1.x scheme); {} if unparsable.
std::vector<int> parse_jdk_version(const std::string& v);

class VersionRange {
public:
    static std::optional<VersionRange> parse(const std::string& text, std::string* error);
    bool contains(const std::string& version) const;  // false for an unknown version
    const std::string& text() const { return text_; }

private:
    enum class Op { lt, le, gt, ge, eq };
    struct Bound { Op op; std::vector<int> v; };
    std::string text_;
    std::vector<Bound> bounds_;
};

}  // namespace jvmwatch::policy
