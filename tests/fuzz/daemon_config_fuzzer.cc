// jvmwatchd's config parser (userspace/daemon/daemon_config.*) on arbitrary YAML, with
// the injector's hook (the policy parser, without the agent file checks that need real
// files) as the daemon installs it.  Invariants: nothing escapes as an exception; a
// refusal always comes with one "file:line: reason" message; accepted limits hold.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/daemon/daemon_config.h"
#include "userspace/policy/policy_parser.h"

using namespace jvmwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    const std::string file = "fuzz.yaml";
    auto hook = [](const YAML::Node& inject, const std::string& f, std::string* error) {
        std::vector<std::string> errors;
        policy::ParseOptions o;
        o.check_agent_files = false;
        auto p = policy::parse_policy(inject, f, &errors, o);
        if (!p) {
            FUZZ_CHECK(!errors.empty());
            *error = errors.front();
        }
        return p.has_value();
    };
    std::string error;
    auto c = daemon::parse_daemon_config(text, file, hook, &error);
    if (!c) {
        FUZZ_CHECK(error.rfind(file + ":", 0) == 0);
        return 0;
    }
    FUZZ_CHECK(c->file == file);
    FUZZ_CHECK(c->audit.rotate_keep >= 1 && c->audit.queue_capacity >= 1);
    uint32_t rb = c->observer.ringbuf_bytes;
    FUZZ_CHECK(rb >= 4096 && (rb & (rb - 1)) == 0);
    // Alert rules: always a policy; names unique and non-empty; limits in range.
    FUZZ_CHECK(c->alerts != nullptr);
    std::set<std::string> names;
    for (const auto& r : c->alerts->rules) {
        FUZZ_CHECK(!r.name.empty() && names.insert(r.name).second);
        FUZZ_CHECK(r.max_per_minute >= 1 && r.dedup_s <= 86400 && r.on != 0);
    }
    return 0;
}
