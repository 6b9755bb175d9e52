// The attach reply parser (attach/protocol.*) on bytes a hostile listener sends.  The
// first byte picks the operation (load replies are classified differently) and where the
// reply is split into reads; the rest is the reply.  Invariants: fed in pieces or whole,
// the outcome is the same; the output handed out is exactly the bytes after the code line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attach/protocol.h"
#include "tests/fuzz/fuzz_check.h"

using namespace jvmwatch::attach;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const char* ops[] = {"load", "jcmd", "threaddump", "properties"};
    std::string op = ops[data[0] & 3];
    size_t step = 1 + (data[0] >> 2);   // read size: 1..64 bytes
    std::string_view reply(reinterpret_cast<const char*>(data) + 1, size - 1);

    Result whole = protocol::parse_reply(op, reply);

    protocol::ReplyParser p(op);
    std::string streamed;
    for (size_t i = 0; i < reply.size(); i += step) streamed += p.feed(reply.substr(i, step));
    Result pieces;
    p.finish(&pieces);

    FUZZ_CHECK(pieces.outcome == whole.outcome);
    FUZZ_CHECK(pieces.jvm_code == whole.jvm_code);
    FUZZ_CHECK(pieces.agent_code == whole.agent_code);
    FUZZ_CHECK(pieces.detail == whole.detail);
    FUZZ_CHECK(pieces.output == whole.output);
    FUZZ_CHECK(streamed == pieces.output);
    if (p.have_code()) {
        size_t nl = reply.find('\n');
        FUZZ_CHECK(nl != std::string_view::npos);
        FUZZ_CHECK(pieces.output == reply.substr(nl + 1));
    } else {
        FUZZ_CHECK(pieces.output.empty());
        FUZZ_CHECK(!pieces.detail.empty());
    }

    bool streaming = false;
    auto v = protocol::parse_getversion(reply, &streaming);
    if (!v) FUZZ_CHECK(!streaming);
    return 0;
}
