// The BPF event decoder (userspace/daemon/event_decoder.*) and the raw-event JSON of
// --record-raw (raw_event_json.*) on arbitrary ring-buffer records.  Invariants: a
// decoded record's strings stay within their kernel capacities; a connect's pid parsed from
// the socket name is never negative; a record the JSON side
// accepts serialises to JSON that parses back and converts to bytes that decode again.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "userspace/audit/json_line.h"
#include "userspace/daemon/event_decoder.h"
#include "userspace/daemon/raw_event_json.h"

using namespace jvmwatch::daemon;

namespace {

void check_bounds(const Record& rec) {
    FUZZ_CHECK(actor_of(rec).comm.size() < sizeof(jw_event_hdr::comm) + 1);
    if (auto* e = std::get_if<ExecRecord>(&rec)) {
        size_t total = 0;
        for (auto& a : e->args) total += a.size() + 1;
        FUZZ_CHECK(total <= JW_ARGS_LEN + 1);
        FUZZ_CHECK(e->filename.size() <= sizeof(jw_exec_event::filename));
    } else if (auto* s = std::get_if<SockDataRecord>(&rec)) {
        FUZZ_CHECK(s->data.size() <= JW_DATA_LEN);
    } else if (auto* c = std::get_if<ConnectRecord>(&rec)) {
        FUZZ_CHECK(c->path.size() <= JW_PATH_LEN);
    }
}

// A connect's pid: the kernel's (bpf/ bounds it to a pid_t), else taken from the socket
// name, where a hostile name must not yield a negative or zero-but-claimed pid.
void check_connect_pid(const Record& rec, const uint8_t* data) {
    auto* c = std::get_if<ConnectRecord>(&rec);
    if (!c) return;
    jw_connect_event e;
    std::memcpy(&e, data, sizeof e);
    if (e.target_pid == 0) FUZZ_CHECK(c->target_nspid >= 0);
    else FUZZ_CHECK(static_cast<uint32_t>(c->target_nspid) == e.target_pid);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    DecodeError err = DecodeError::none;
    auto rec = decode_event(data, size, &err);
    if (rec) {
        FUZZ_CHECK(err == DecodeError::none);
        check_bounds(*rec);
        check_connect_pid(*rec, data);
    } else {
        FUZZ_CHECK(err != DecodeError::none);
        FUZZ_CHECK(std::strcmp(to_string(err), "?") != 0);
    }

    auto j = raw_event_to_json(data, size);
    if (!j) return 0;
    std::string line = jvmwatch::audit::to_json_line(*j);
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    auto back = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!back.is_discarded());
    std::string error;
    auto bytes = raw_event_from_json(back, &error);
    FUZZ_CHECK(bytes.has_value());
    DecodeError err2 = DecodeError::none;
    auto again = decode_event(bytes->data(), bytes->size(), &err2);
    FUZZ_CHECK(again.has_value());
    if (rec) {
        // Numbers survive the round trip; strings may not (invalid UTF-8 is replaced).
        const Actor &a = actor_of(*rec), &b = actor_of(*again);
        FUZZ_CHECK(again->index() == rec->index());
        FUZZ_CHECK(a.ts_ns == b.ts_ns && a.pid == b.pid && a.tid == b.tid && a.uid == b.uid);
        FUZZ_CHECK(a.cgroup_id == b.cgroup_id && a.nspid == b.nspid && a.ppid == b.ppid);
    }
    return 0;
}
