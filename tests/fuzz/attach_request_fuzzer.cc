// Reassembly of attach requests (v1, v2) and replies from the socket bytes the kernel
// captured (userspace/daemon/attach_request.*).  The first byte picks the write size and
// whether the kernel cut the capture; the rest is the byte stream.  Invariants: split
// writes assemble to what the whole (bounded) stream parses to; truncation is reported
// exactly when bytes were lost; a parsed request re-encoded by the attach library parses
// back the same.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attach/protocol.h"
#include "tests/fuzz/fuzz_check.h"
#include "userspace/daemon/attach_request.h"

using namespace jvmwatch;
using daemon::AttachRequest;
using daemon::ReplyAssembler;
using daemon::RequestAssembler;

namespace {

bool same(const AttachRequest& a, const AttachRequest& b) {
    return a.protocol == b.protocol && a.operation == b.operation && a.options == b.options &&
           a.args == b.args && a.complete == b.complete;
}

void check_reencoding(const AttachRequest& r) {
    if (!r.complete || r.operation.empty()) return;
    attach::Request req;
    req.args = r.args;
    if (r.protocol == 1) {
        req.op = r.operation;
        if (!attach::protocol::v1_limit_error(req).empty()) return;
        AttachRequest back = RequestAssembler::parse_request(attach::protocol::encode_v1(req));
        FUZZ_CHECK(back.protocol == 1 && back.complete);
        FUZZ_CHECK(back.operation == r.operation && back.args == r.args);
    } else {
        req.op = r.options.empty() ? r.operation : r.operation + " " + r.options;
        AttachRequest back = RequestAssembler::parse_request(attach::protocol::encode_v2(req));
        FUZZ_CHECK(back.protocol == 2 && back.complete);
        FUZZ_CHECK(back.operation == r.operation && back.options == r.options);
        FUZZ_CHECK(back.args == r.args);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t step = 1 + (data[0] & 0x7f);
    bool kernel_cut = data[0] & 0x80;
    std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

    RequestAssembler a;
    for (size_t i = 0; i < stream.size(); i += step) {
        std::string_view chunk = stream.substr(i, step);
        a.add(chunk, chunk.size() + (kernel_cut ? 1 : 0));
    }
    AttachRequest r = a.parse();
    AttachRequest whole =
        RequestAssembler::parse_request(stream.substr(0, RequestAssembler::kMaxBytes));
    FUZZ_CHECK(same(r, whole));
    FUZZ_CHECK(a.empty() == stream.empty());
    FUZZ_CHECK(a.truncated() ==
               ((kernel_cut && !stream.empty()) || stream.size() > RequestAssembler::kMaxBytes));
    FUZZ_CHECK(r.protocol == 0 || r.protocol == 1 || r.protocol == 2);
    if (r.protocol == 1) FUZZ_CHECK(r.args.size() <= 3);
    check_reencoding(r);

    ReplyAssembler reply;
    std::optional<int> early;
    for (size_t i = 0; i < stream.size(); i += step) {
        reply.add(stream.substr(i, step));
        if (!early) early = reply.result_code(false);
    }
    auto at_end = reply.result_code(true);
    if (early) FUZZ_CHECK(at_end == early);
    if (auto now = reply.result_code(false)) FUZZ_CHECK(now == at_end);
    FUZZ_CHECK(reply.detail(16).size() <= 16);
    FUZZ_CHECK(reply.detail().size() <= 256);
    return 0;
}
