// Reads Prometheus text exposition (what /metrics serves) for tests: series -> value.
#pragma once

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace jvmwatch::test {

// "name{labels}" (exactly as written) -> value; comments skipped.
inline std::map<std::string, double> parse_prom_text(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto sp = line.rfind(' ');
        if (sp == std::string::npos) continue;
        out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
    }
    return out;
}

// The series' metric name.
inline std::string prom_name(const std::string& series) { return series.substr(0, series.find('{')); }

// Sum over the series of `name` whose labels contain every fragment (e.g. op="load").
// -1 when no such series exists.
inline double prom_sum(const std::map<std::string, double>& m, const std::string& name,
                       const std::vector<std::string>& fragments = {}) {
    double sum = 0;
    bool any = false;
    for (const auto& [series, v] : m) {
        if (prom_name(series) != name) continue;
        bool all = true;
        for (const auto& f : fragments) all = all && series.find(f) != std::string::npos;
        if (!all) continue;
        sum += v;
        any = true;
    }
    return any ? sum : -1;
}

}  // namespace jvmwatch::test
