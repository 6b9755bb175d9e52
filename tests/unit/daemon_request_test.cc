// Reassembly of attach requests (v1 and v2) from split writes, and reply parsing.
#include <gtest/gtest.h>

#include "userspace/daemon/attach_request.h"

using namespace jvmwatch::daemon;
using namespace std::string_literals;

TEST(DaemonRequest, V1ByteByByte) {
    std::string req = "1\0load\0instrument\0false\0/x.jar=a\0"s;
    RequestAssembler a;
    for (char c : req) a.add(std::string(1, c), 1);
    AttachRequest r = a.parse();
    EXPECT_EQ(r.protocol, 1);
    EXPECT_EQ(r.operation, "load");
    EXPECT_EQ(r.args, (std::vector<std::string>{"instrument", "false", "/x.jar=a"}));
    EXPECT_TRUE(r.complete);
    EXPECT_FALSE(a.truncated());
}

TEST(DaemonRequest, V1Incomplete) {
    RequestAssembler a;
    a.add("1\0jcmd\0VM.ver"s, 14);
    AttachRequest r = a.parse();
    EXPECT_EQ(r.operation, "jcmd");
    EXPECT_FALSE(r.complete);
}

TEST(DaemonRequest, V2WithOptionsAndManyArgs) {
    std::string body = "jcmd streaming=1\0Thread.print\0-l\0-e\0"s;
    std::string req = "2\0"s + std::to_string(body.size()) + "\0"s + body;
    RequestAssembler a;
    a.add(req.substr(0, 5), 5);
    a.add(req.substr(5), req.size() - 5);
    AttachRequest r = a.parse();
    EXPECT_EQ(r.protocol, 2);
    EXPECT_EQ(r.operation, "jcmd");
    EXPECT_EQ(r.options, "streaming=1");
    EXPECT_EQ(r.args, (std::vector<std::string>{"Thread.print", "-l", "-e"}));
    EXPECT_TRUE(r.complete);
}

TEST(DaemonRequest, V2ShortBodyIsIncomplete) {
    std::string req = "2\0"s + "100" + "\0jcmd\0"s;
    AttachRequest r = RequestAssembler::parse_request(req);
    EXPECT_EQ(r.protocol, 2);
    EXPECT_EQ(r.operation, "jcmd");
    EXPECT_FALSE(r.complete);
}

TEST(DaemonRequest, NotARequest) {
    EXPECT_EQ(RequestAssembler::parse_request("GET / HTTP/1.1").protocol, 0);
    EXPECT_EQ(RequestAssembler::parse_request("").protocol, 0);
}

TEST(DaemonRequest, KernelCutAndOverflowAreTruncation) {
    RequestAssembler a;
    a.add("1\0load\0"s, 5000);   // the syscall moved more than was captured
    EXPECT_TRUE(a.truncated());
    RequestAssembler b;
    b.add(std::string(RequestAssembler::kMaxBytes + 10, 'x'), RequestAssembler::kMaxBytes + 10);
    EXPECT_TRUE(b.truncated());
}

TEST(DaemonRequest, ReplyCodeNeedsTheWholeFirstLine) {
    ReplyAssembler r;
    r.add("1");
    EXPECT_FALSE(r.result_code(false));
    r.add("01\nUnknown command");
    ASSERT_TRUE(r.result_code(false));
    EXPECT_EQ(*r.result_code(false), 101);
    EXPECT_EQ(r.detail(), "Unknown command");
    ReplyAssembler bad;
    bad.add("xyz\n");
    EXPECT_FALSE(bad.result_code(true));
    ReplyAssembler eof;
    eof.add("0");
    EXPECT_EQ(*eof.result_code(true), 0);
}
