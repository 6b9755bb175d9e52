// The injection policy parser (userspace/policy/policy_parser.*) on arbitrary YAML: the
// document's `inject:` key, as load_policy_file hands it over (agent file checks off: they
// need real files).  Invariants: nothing escapes as an exception; a refusal names at
// least one "file:..." reason; an accepted policy has rules with names and
// well-formed agents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/policy/policy_parser.h"

using namespace jvmwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    const std::string file = "fuzz.yaml";
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception&) {
        return 0;   // a syntax error: load_policy_file reports it, the parser never sees it
    }
    if (root && !root.IsNull() && !root.IsMap()) return 0;
    std::vector<std::string> errors;
    policy::ParseOptions o;
    o.check_agent_files = false;
    auto p = policy::parse_policy(root ? root["inject"] : YAML::Node(), file, &errors, o);
    if (!p) {
        FUZZ_CHECK(!errors.empty());
        for (auto& e : errors) FUZZ_CHECK(e.rfind(file, 0) == 0);
        return 0;
    }
    FUZZ_CHECK(errors.empty());
    for (auto& r : p->rules) {
        FUZZ_CHECK(!r.name.empty());
        // The v1 protocol carries "<jar>=<options>" in one 1024-byte argument.
        if (!r.agent.options.empty()) FUZZ_CHECK(r.agent.path.size() + 1 + r.agent.options.size() <= 1024);
        if (r.agent.sha256) {
            FUZZ_CHECK(r.agent.sha256->size() == 64);
            FUZZ_CHECK(r.agent.sha256->find_first_not_of("0123456789abcdef") == std::string::npos);
        }
    }
    return 0;
}
