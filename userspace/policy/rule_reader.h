// What alert and deny rules read alike: a name (a metric label, a JSON field, a word of
// the text log) and a severity.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

#include "userspace/policy/alert_rules.h"
#include "userspace/policy/yaml_reader.h"

namespace jvmwatch::policy {

class RuleReader : public YamlReader {
public:
    using YamlReader::YamlReader;

protected:
    // The rule's `name`: required, 1-64 of A-Z a-z 0-9 - _ .
    void rule_name(const YAML::Node& rule, const std::string& what, std::string* out) {
        if (!rule["name"]) {
            fail(rule, what + ": a rule needs a name");
            return;
        }
        auto s = str(rule["name"], what + ".name");
        if (!s) return;
        bool plain = !s->empty() && s->size() <= 64 &&
                     std::all_of(s->begin(), s->end(), [](unsigned char c) {
                         return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                     });
        if (plain) *out = *s;
        else fail(rule["name"], what + ".name: \"" + *s + "\": 1-64 of A-Z a-z 0-9 - _ .");
    }

    // The rule's `severity`, if set.
    void rule_severity(const YAML::Node& rule, const std::string& what, Severity* out) {
        if (!rule["severity"]) return;
        static const std::pair<const char*, Severity> kSeverities[] = {
            {"info", Severity::info}, {"low", Severity::low}, {"medium", Severity::medium},
            {"high", Severity::high}, {"critical", Severity::critical}};
        auto s = str(rule["severity"], what + ".severity");
        if (!s) return;
        for (const auto& [name, value] : kSeverities)
            if (*s == name) {
                *out = value;
                return;
            }
        fail(rule["severity"], what + ".severity: expected info, low, medium, high or critical");
    }
};

}  // namespace jvmwatch::policy
