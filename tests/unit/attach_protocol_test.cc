// Request encoding, limits, and every reply shape (as observed on JDK 17 and 25).
#include <gtest/gtest.h>

#include "attach/protocol.h"
#include "attach/route.h"
#include "jvmwatch/attach.h"

namespace jvmwatch::attach {
namespace {

using namespace std::string_literals;

TEST(AttachProtocolEncode, V1PadsToThreeArgs) {
    EXPECT_EQ(protocol::encode_v1({"properties", {}}), "1\0properties\0\0\0\0"s);
    EXPECT_EQ(protocol::encode_v1({"load", {"instrument", "false", "/a.jar=x"}}),
              "1\0load\0instrument\0false\0/a.jar=x\0"s);
    EXPECT_EQ(protocol::encode_v1(protocol::getversion_request()), "1\0getversion\0options\0\0\0"s);
}

TEST(AttachProtocolEncode, V2CountsBodyBytes) {
    EXPECT_EQ(protocol::encode_v2({"jcmd", {"VM.version"}}), "2\0" "16\0jcmd\0VM.version\0"s);
    EXPECT_EQ(protocol::encode_v2({"bogus", {}}), "2\0" "6\0bogus\0"s);
    Request big{"jcmd", {std::string(2000, 'a'), "b", "c", "d"}};
    std::string e = protocol::encode_v2(big);
    EXPECT_EQ(e.substr(0, 7), "2\0" "2012\0"s);  // 5 + 2001 + 3 * 2
    EXPECT_EQ(e.size(), 7 + 2012u);
}

TEST(AttachProtocolLimits, V1Limits) {
    EXPECT_EQ(protocol::v1_limit_error({"properties", {}}), "");
    EXPECT_EQ(protocol::v1_limit_error({std::string(16, 'o'), {}}), "");
    EXPECT_NE(protocol::v1_limit_error({std::string(17, 'o'), {}}).find("at most 16"),
              std::string::npos);
    EXPECT_EQ(protocol::v1_limit_error({"jcmd", {std::string(1024, 'a')}}), "");
    auto e = protocol::v1_limit_error({"jcmd", {std::string(1025, 'a')}});
    EXPECT_NE(e.find("argument 1 is 1025 characters"), std::string::npos) << e;
    EXPECT_NE(protocol::v1_limit_error({"x", {"a", "b", "c", "d"}}).find("at most 3"),
              std::string::npos);
    EXPECT_NE(protocol::v1_limit_error({"", {}}), "");
    EXPECT_EQ(protocol::v2_limit_error({"jcmd", {std::string(100000, 'a')}}), "");
    EXPECT_NE(protocol::v2_limit_error({"jcmd", {std::string(300000, 'a')}}), "");
}

TEST(AttachProtocolReply, PlainSuccessAndErrors) {
    auto r = protocol::parse_reply("properties", "0\njava.version=17\n");
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.jvm_code, 0);
    EXPECT_EQ(r.output, "java.version=17\n");
    r = protocol::parse_reply("bogusop", "-1\nOperation bogusop not recognized!");
    EXPECT_EQ(r.outcome, Outcome::jvm_error);
    EXPECT_EQ(r.jvm_code, -1);
    EXPECT_NE(r.detail.find("Operation bogusop not recognized!"), std::string::npos);
    r = protocol::parse_reply("jcmd", "-1\njava.lang.IllegalArgumentException: Unknown diagnostic command\n");
    EXPECT_EQ(r.outcome, Outcome::jvm_error);
    r = protocol::parse_reply("load", "-1\nnosuchlib was not loaded.\nlibnosuchlib.so: cannot open\n");
    EXPECT_EQ(r.outcome, Outcome::jvm_error);
    EXPECT_FALSE(r.agent_code);
    // JDK 17 answers printflag of an unknown flag with 0 and a message.
    r = protocol::parse_reply("printflag", "0\nno such flag 'X'\n");
    EXPECT_EQ(r.outcome, Outcome::ok);
}

TEST(AttachProtocolReply, LoadShapesOfEachJdk) {
    auto r = protocol::parse_reply("load", "0\nreturn code: 0\n");  // JDK 9-20 (and 21+)
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.agent_code, 0);
    r = protocol::parse_reply("load", "0\nreturn code: 100\n");  // missing jar
    EXPECT_EQ(r.outcome, Outcome::agent_error);
    EXPECT_EQ(r.agent_code, 100);
    r = protocol::parse_reply("load", "0\nreturn code: 102\n");  // agentmain threw
    EXPECT_EQ(r.outcome, Outcome::agent_error);
    EXPECT_NE(r.detail.find("threw"), std::string::npos);
    r = protocol::parse_reply("load", "0\n0");  // JDK 8
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.agent_code, 0);
    r = protocol::parse_reply("load", "0\n7\n");
    EXPECT_EQ(r.outcome, Outcome::agent_error);
    EXPECT_EQ(r.agent_code, 7);
    r = protocol::parse_reply("load",
                              "0\nDynamic agent loading is not enabled. Use "
                              "-XX:+EnableDynamicAgentLoading to launch target VM.\n");
    EXPECT_EQ(r.outcome, Outcome::dynamic_loading_disabled);
    EXPECT_FALSE(r.agent_code);
    r = protocol::parse_reply("load", "0\njava.lang.RuntimeException: boom\n");  // streaming
    EXPECT_EQ(r.outcome, Outcome::agent_error);
    EXPECT_NE(r.detail.find("boom"), std::string::npos);
}

TEST(AttachProtocolReply, MalformedAndTruncated) {
    auto r = protocol::parse_reply("properties", "");
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    EXPECT_NE(r.detail.find("without a reply"), std::string::npos);
    r = protocol::parse_reply("properties", "0");
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    EXPECT_NE(r.detail.find("truncated"), std::string::npos);
    r = protocol::parse_reply("properties", "hello\nworld\n");
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    EXPECT_FALSE(r.jvm_code);
    r = protocol::parse_reply("properties", std::string(100, '1'));
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    r = protocol::parse_reply("properties", "101\n");
    EXPECT_EQ(r.outcome, Outcome::protocol_error);
    EXPECT_EQ(r.jvm_code, 101);
}

TEST(AttachProtocolReply, StreamsOutputInPieces) {
    protocol::ReplyParser p("threaddump");
    EXPECT_EQ(p.feed("0"), "");
    EXPECT_FALSE(p.have_code());
    EXPECT_EQ(p.feed("\nFull"), "Full");
    EXPECT_TRUE(p.have_code());
    EXPECT_EQ(p.feed(" dump\n"), " dump\n");
    Result r;
    p.finish(&r);
    EXPECT_EQ(r.outcome, Outcome::ok);
    EXPECT_EQ(r.output, "Full dump\n");
}

TEST(AttachProtocolVersion, GetversionReplies) {
    bool streaming = true;
    EXPECT_EQ(protocol::parse_getversion("0\n2", &streaming), 2);
    EXPECT_FALSE(streaming);
    EXPECT_EQ(protocol::parse_getversion("0\n2 streaming", &streaming), 2);
    EXPECT_TRUE(streaming);
    EXPECT_EQ(protocol::parse_getversion("-1\nOperation getversion not recognized!", &streaming), 1);
    EXPECT_FALSE(protocol::parse_getversion("0\nbanana", &streaming));
    EXPECT_FALSE(protocol::parse_getversion("", &streaming));
}

TEST(AttachRequest, JattachConventions) {
    std::string err;
    auto r = make_request("jcmd", {"GC.class_histogram", "-all"}, &err);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->args, (std::vector<std::string>{"GC.class_histogram -all"}));
    r = make_request("load", {"instrument", "false", "/a.jar=x"}, &err);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->args.size(), 3u);
    EXPECT_TRUE(make_request("properties", {}, &err));
    EXPECT_TRUE(make_request("setflag", {"HeapDumpOnOutOfMemoryError", "1"}, &err));
    EXPECT_FALSE(make_request("setflag", {"X"}, &err));
    EXPECT_NE(err.find("usage: setflag"), std::string::npos);
    EXPECT_FALSE(make_request("load", {"lib", "maybe"}, &err));
    EXPECT_FALSE(make_request("jcmd", {}, &err));
    EXPECT_FALSE(make_request("bogus", {}, &err));
    EXPECT_NE(err.find("unknown operation 'bogus'"), std::string::npos);
    auto j = load_java_agent("/x.jar", "a=b");
    EXPECT_EQ(j.args, (std::vector<std::string>{"instrument", "false", "/x.jar=a=b"}));
    EXPECT_EQ(load_java_agent("/x.jar", "").args[2], "/x.jar");
    EXPECT_EQ(load_native_agent("/l.so", "o").args, (std::vector<std::string>{"/l.so", "true", "o"}));
    EXPECT_EQ(to_string(Outcome::dynamic_loading_disabled), "dynamic_loading_disabled");
    EXPECT_EQ(to_string(Outcome::untrusted_socket), "untrusted_socket");
}

TEST(AttachRoute, CredentialRule) {
    // Same ids: no switch.  Root, same user ns, JDK 11+: the JVM accepts root as is.
    EXPECT_FALSE(need_credential_switch(1000, 1000, 1000, 1000, true, 17));
    EXPECT_FALSE(need_credential_switch(0, 0, 65534, 65534, true, 17));
    EXPECT_TRUE(need_credential_switch(0, 0, 65534, 65534, true, 8));    // JDK 8: exact ids
    EXPECT_TRUE(need_credential_switch(0, 0, 1000, 1000, false, 17));    // user-namespaced
    EXPECT_TRUE(need_credential_switch(0, 0, 1000, 1000, true, 0));      // unknown JDK
    EXPECT_TRUE(need_credential_switch(1000, 1000, 1000, 1001, true, 17));
    EXPECT_EQ(jdk_major("17.0.15"), 17);
    EXPECT_EQ(jdk_major("1.8.0_392"), 8);
    EXPECT_EQ(jdk_major("25"), 25);
    EXPECT_EQ(jdk_major(""), 0);
}

}  // namespace
}  // namespace jvmwatch::attach
