#include "userspace/policy/pattern.h"

#include <fnmatch.h>
#include <re2/re2.h>

namespace jvmwatch::policy {

namespace {
// fnmatch accepts anything; refuse what it would silently treat as literals by accident.
std::optional<std::string> glob_problem(const std::string& g) {
    if (g.empty()) return "empty glob";
    for (size_t i = 0; i < g.size(); ++i) {
        char c = g[i];
        if (c == '\\') {
            if (i + 1 == g.size()) return "trailing backslash";
            ++i;
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < g.size() && (g[j] == '!' || g[j] == '^')) ++j;
            if (j < g.size() && g[j] == ']') ++j;  // "]" first is a literal member
            while (j < g.size() && g[j] != ']') ++j;
            if (j >= g.size()) return "unclosed '[' at offset " + std::to_string(i);
            i = j;
        } else if (c == ']') {
            return "unmatched ']' at offset " + std::to_string(i);
        }
    }
    return std::nullopt;
}
}  // namespace

std::optional<Pattern> Pattern::glob(const std::string& text, std::string* error) {
    if (auto p = glob_problem(text)) {
        *error = "bad glob \"" + text + "\": " + *p;
        return std::nullopt;
    }
    return Pattern(Kind::glob, text);
}

std::optional<Pattern> Pattern::regex(const std::string& text, std::string* error) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(text, o);
    if (!re->ok()) {
        *error = "bad regex \"" + text + "\": " + re->error();
        return std::nullopt;
    }
    Pattern p(Kind::regex, text);
    p.re_ = std::move(re);
    return p;
}

bool Pattern::matches(std::string_view s) const {
    if (kind_ == Kind::glob) return fnmatch(text_.c_str(), std::string(s).c_str(), 0) == 0;
    return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *re_);
}

}  // namespace jvmwatch::policy
