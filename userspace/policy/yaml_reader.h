// Reading a YAML policy section with `file:line: reason` errors collected, not thrown:
// the shared helpers of the inject, alert and deny parsers (policy_parser.cc, rule_reader.h).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "userspace/policy/pattern.h"

namespace jvmwatch::policy {

class YamlReader {
public:
    YamlReader(std::string file, std::vector<std::string>* errors)
        : file_(std::move(file)), errors_(errors) {}

protected:
    std::string at(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.line < 0) return file_;
        return file_ + ":" + std::to_string(m.line + 1);
    }
    void fail(const YAML::Node& n, const std::string& why) {
        errors_->push_back(at(n) + ": " + why);
    }
    bool is_map(const YAML::Node& n, const std::string& what) {
        if (n.IsMap()) return true;
        fail(n, what + ": expected a mapping");
        return false;
    }
    // Keys must come from `allowed`: a typo must not silently disable a matcher.
    bool known_keys(const YAML::Node& n, const std::string& what,
                    const std::set<std::string>& allowed) {
        bool ok = true;
        for (auto it = n.begin(); it != n.end(); ++it) {
            const auto key = it->first.Scalar();
            if (!allowed.count(key)) {
                std::string list;
                for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
                fail(it->first, "unknown key \"" + key + "\" in " + what + " (expected one of: " +
                                    list + ")");
                ok = false;
            }
        }
        return ok;
    }
    std::optional<std::string> str(const YAML::Node& n, const std::string& what) {
        if (!n.IsScalar()) { fail(n, what + ": expected a string"); return std::nullopt; }
        return n.Scalar();
    }
    std::optional<bool> boolean(const YAML::Node& n, const std::string& what) {
        bool v;
        if (n.IsScalar() && YAML::convert<bool>::decode(n, v)) return v;
        fail(n, what + ": expected true or false");
        return std::nullopt;
    }
    std::optional<uint32_t> uint(const YAML::Node& n, const std::string& what, uint64_t lo,
                                 uint64_t hi) {
        long long v;
        if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) {
            fail(n, what + ": expected an integer");
            return std::nullopt;
        }
        if (v < static_cast<long long>(lo) || v > static_cast<long long>(hi)) {
            fail(n, what + ": " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
                        ", " + std::to_string(hi) + "]");
            return std::nullopt;
        }
        return static_cast<uint32_t>(v);
    }
    std::optional<double> number(const YAML::Node& n, const std::string& what) {
        double v;
        if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
            fail(n, what + ": expected a number");
            return std::nullopt;
        }
        return v;
    }

    // A pattern: "text" (a glob), {glob: "text"} or {regex: "text"}.
    std::optional<Pattern> pattern(const YAML::Node& n, const std::string& what);
    // One pattern or a list of them (any may match).
    bool patterns(const YAML::Node& n, const std::string& what, std::vector<Pattern>* out);

    std::string file_;
    std::vector<std::string>* errors_;
};

}  // namespace jvmwatch::policy
