#include "userspace/policy/yaml_reader.h"

namespace jvmwatch::policy {

// A pattern: "text" (a glob), {glob: "text"} or {regex: "text"}.
std::optional<Pattern> YamlReader::pattern(const YAML::Node& n, const std::string& what) {
    std::string e;
    if (n.IsScalar()) {
        auto p = Pattern::glob(n.Scalar(), &e);
        if (!p) fail(n, what + ": " + e);
        return p;
    }
    if (!n.IsMap() || n.size() != 1) {
        fail(n, what + ": expected a glob string, {glob: ...} or {regex: ...}");
        return std::nullopt;
    }
    auto it = n.begin();
    const auto kind = it->first.Scalar();
    if (kind != "glob" && kind != "regex") {
        fail(it->first, "unknown key \"" + kind + "\" in " + what + " (expected glob or regex)");
        return std::nullopt;
    }
    auto text = str(it->second, what + "." + kind);
    if (!text) return std::nullopt;
    auto p = kind == "glob" ? Pattern::glob(*text, &e) : Pattern::regex(*text, &e);
    if (!p) fail(it->second, what + ": " + e);
    return p;
}

bool YamlReader::patterns(const YAML::Node& n, const std::string& what, std::vector<Pattern>* out) {
    if (n.IsSequence()) {
        if (n.size() == 0) { fail(n, what + ": empty list"); return false; }
        bool ok = true;
        for (size_t i = 0; i < n.size(); ++i) {
            auto p = pattern(n[i], what);
            if (p) out->push_back(std::move(*p)); else ok = false;
        }
        return ok;
    }
    auto p = pattern(n, what);
    if (p) out->push_back(std::move(*p));
    return p.has_value();
}

}  // namespace jvmwatch::policy
