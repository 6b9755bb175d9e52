// A string pattern from the policy: a shell glob (fnmatch) or an RE2 regex.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 { class RE2; }

namespace jvmwatch::policy {

class Pattern {
public:
    enum class Kind { glob, regex };

    // nullopt and *error (one line, RE2's own text for regexes) if the pattern is invalid.
    static std::optional<Pattern> glob(const std::string& text, std::string* error);
    static std::optional<Pattern> regex(const std::string& text, std::string* error);

    // Globs must match the whole string; regexes match anywhere unless anchored.
    bool matches(std::string_view s) const;
    Kind kind() const { return kind_; }
    const std::string& text() const { return text_; }

private:
    Pattern(Kind k, std::string text) : kind_(k), text_(std::move(text)) {}
    Kind kind_;
    std::string text_;
    std::shared_ptr<const re2::RE2> re_;  // shared: policies are copied on reload
};

}  // namespace jvmwatch::policy
