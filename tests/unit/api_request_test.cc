// The local API's request parsing and --since (userspace/api/api_request.h, since.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "userspace/api/api_request.h"
#include "userspace/api/since.h"

namespace jvmwatch::api {
namespace {

constexpr int64_t kNow = int64_t(1796205600) * 1'000'000'000;   // 2026-12-02T10:00:00Z

std::string parse_error(std::string_view line) {
    std::string err;
    auto r = parse_request(line, kNow, &err);
    EXPECT_FALSE(r) << line;
    return err;
}

TEST(ApiRequest, ParsesEachRequest) {
    std::string err;
    auto ps = parse_request(R"({"request":"ps"})", kNow, &err);
    ASSERT_TRUE(ps) << err;
    EXPECT_EQ(ps->kind, Request::Kind::ps);
    auto st = parse_request(R"({"request":"status"})", kNow, &err);
    ASSERT_TRUE(st) << err;
    EXPECT_EQ(st->kind, Request::Kind::status);
    auto ev = parse_request(R"({"request":"events","type":"jvm.start","pid":42,"since":"5m","follow":true})", kNow, &err);
    ASSERT_TRUE(ev) << err;
    EXPECT_EQ(ev->kind, Request::Kind::events);
    EXPECT_EQ(ev->filter.type, "jvm.start");
    EXPECT_EQ(ev->filter.pid, 42);
    EXPECT_EQ(ev->filter.since_ns, kNow - 300'000'000'000);
    EXPECT_TRUE(ev->follow);
}

TEST(ApiRequest, MalformedOrUnknownGetsOneErrorLine) {
    EXPECT_NE(parse_error("").find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse_error("{\"request\":").find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse_error("[1,2]").find("not a JSON object"), std::string::npos);
    EXPECT_NE(parse_error("{}").find("missing"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"rm -rf"})").find("unknown request"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"ps","follow":true})").find("unknown field"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"events","pid":-1})").find("pid"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"events","pid":"1"})").find("pid"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"events","since":"yesterday"})").find("since"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"events","follow":1})").find("follow"), std::string::npos);
    EXPECT_NE(parse_error(R"({"request":"events","bogus":1})").find("unknown field"), std::string::npos);
    std::string huge = R"({"request":"ps","x":")" + std::string(10000, 'a') + "\"}";
    EXPECT_NE(parse_error(huge).find("longer than"), std::string::npos);
    // The error reply is one JSON line even for hostile input.
    std::string reply = error_reply("bad \n\x1b thing \xff");
    EXPECT_EQ(reply.find('\n'), std::string::npos);
    EXPECT_TRUE(nlohmann::json::parse(reply).contains("error"));
}

TEST(Since, DurationsAndRfc3339) {
    EXPECT_EQ(parse_duration_ns("30s"), 30'000'000'000);
    EXPECT_EQ(parse_duration_ns("5m"), 300'000'000'000);
    EXPECT_EQ(parse_duration_ns("2h"), 7'200'000'000'000);
    EXPECT_EQ(parse_duration_ns("1d"), 86'400'000'000'000);
    EXPECT_EQ(parse_duration_ns("250ms"), 250'000'000);
    EXPECT_EQ(parse_duration_ns("0s"), 0);
    for (const char* bad : {"", "s", "5", "5x", "-5m", "5 m", "5mm", "99999999999999999999s", "1.5h"})
        EXPECT_FALSE(parse_duration_ns(bad)) << bad;
    EXPECT_EQ(parse_since("5m", kNow), kNow - 300'000'000'000);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02T10:00:00Z"), kNow);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02T10:00:00.5Z"), kNow + 500'000'000);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02T10:00:00.123456789Z"), kNow + 123'456'789);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02T11:00:00+01:00"), kNow);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02T09:30:00-00:30"), kNow);
    EXPECT_EQ(parse_rfc3339_ns("2026-12-02t10:00:00z"), kNow);
    EXPECT_EQ(parse_since("2026-12-02T10:00:00Z", 0), kNow);
    for (const char* bad : {"2026-12-02", "2026-12-02T10:00:00", "2026-13-02T10:00:00Z", "2026-02-31T10:00:00Z",
                            "2026-12-02T25:00:00Z", "2026-12-02T10:00:00.Z", "2026-12-02T10:00:00Zjunk",
                            "2026-12-02T10:00:00+1:00", "yesterday", "1969-12-31T23:59:59Z", "2999-01-01T00:00:00Z"})
        EXPECT_FALSE(parse_rfc3339_ns(bad)) << bad;
}

}  // namespace
}  // namespace jvmwatch::api
