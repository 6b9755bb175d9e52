// How the audit stream writes strings other users control (args, comm, thread names,
// request bytes, paths): userspace/audit/json_line.*.  The input is cut at 0xFF bytes into
// strings that become values, keys and array elements of an event shaped like the
// daemon's.  Invariants: serialising never throws; the line holds no raw control byte (so
// no forged line); it parses back; and when every string was valid UTF-8 it parses back
// to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/audit/json_line.h"

using nlohmann::json;

namespace {

bool valid_utf8(const json& j) {
    try {
        (void)j.dump();   // the default (strict) handler throws type_error 316
        return true;
    } catch (const json::type_error&) {
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> parts;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (true) {
        size_t cut = in.find('\xff');
        parts.emplace_back(in.substr(0, cut));
        if (cut == std::string_view::npos) break;
        in.remove_prefix(cut + 1);
    }
    json ev = {{"type", "jvm.start"}, {"v", 1}, {"seq", 7}};
    json jvm = json::object();
    jvm["exe"] = parts[0];
    jvm["cmdline"] = json::array();
    for (size_t i = 1; i < parts.size(); ++i) {
        jvm["cmdline"].push_back(parts[i]);
        // Hostile keys too (numbered: two keys must not collide once invalid bytes are replaced).
        if (i % 3 == 0) jvm["k" + std::to_string(i) + ":" + parts[i]] = parts[i - 1];
    }
    ev["jvm"] = jvm;
    ev["detail"] = parts.back();

    std::string line = jvmwatch::audit::to_json_line(ev);
    for (unsigned char c : line) FUZZ_CHECK(c >= 0x20);
    auto back = json::parse(line, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!back.is_discarded());
    FUZZ_CHECK(back.is_object() && back["jvm"]["cmdline"].size() == parts.size() - 1);
    if (valid_utf8(ev)) FUZZ_CHECK(back == ev);
    // Written again, the parsed event is the same line: replacement is stable.
    FUZZ_CHECK(jvmwatch::audit::to_json_line(back) == line);
    return 0;
}
