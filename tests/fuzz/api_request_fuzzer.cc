// The local API's input side (userspace/api/): a request line (parse_request, since.h) and
// an event fed to the state (ApiState::consume).  Invariants: nothing throws; a refused
// request has a one-line reason; every reply the state gives serialises to one line; the
// bounds hold (JVM rows, agents per row, ring size, string caps).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/api/api_request.h"
#include "userspace/api/api_state.h"
#include "userspace/api/since.h"

using nlohmann::json;
using namespace jvmwatch::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    constexpr int64_t kNow = int64_t(1796205600) * 1'000'000'000;

    std::string err;
    auto req = parse_request(text, kNow, &err);
    if (!req) {
        FUZZ_CHECK(!err.empty());
        FUZZ_CHECK(error_reply(err).find('\n') == std::string::npos);
    }
    (void)parse_since(text, kNow);

    // The same bytes as events (one per line) into a small state.
    StateLimits lim;
    lim.events_ring = 4;
    lim.max_jvms = 3;
    lim.max_agents = 2;
    lim.max_string = 16;
    ApiState st(lim, 0);
    size_t start = 0;
    while (start <= text.size()) {
        size_t nl = text.find('\n', start);
        std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        auto ev = json::parse(line, nullptr, false);
        if (!ev.is_discarded()) st.consume(ev);
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    json ps = st.ps_json();
    FUZZ_CHECK(ps.size() <= lim.max_jvms);
    for (const auto& row : ps) {
        FUZZ_CHECK(row["agents"].size() <= lim.max_agents);
        FUZZ_CHECK(row["main"].get<std::string>().size() <= lim.max_string);
    }
    FUZZ_CHECK(st.ring().size() <= lim.events_ring);
    std::string a = ps.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string b = st.status_json(1).dump(-1, ' ', false, json::error_handler_t::replace);
    FUZZ_CHECK(a.find('\n') == std::string::npos && b.find('\n') == std::string::npos);
    for (const auto& e : st.ring()) FUZZ_CHECK(e.line.find('\n') == std::string::npos);
    return 0;
}
