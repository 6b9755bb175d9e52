// The small JSON Schema validator, and docs/events.schema.json itself: a valid example
// of every event type passes, broken ones are rejected.
#include <gtest/gtest.h>

#include "tests/unit/daemon_test_support.h"
#include "userspace/audit/json_schema.h"

using jvmwatch::audit::JsonSchema;
using nlohmann::json;

namespace {

JsonSchema schema_of(const json& s) {
    std::string err;
    auto v = JsonSchema::from_json(s, &err);
    EXPECT_TRUE(v) << err;
    return *v;
}

bool valid(const JsonSchema& s, const json& v, std::string* why = nullptr) {
    std::vector<std::string> errors;
    bool ok = s.validate(v, &errors);
    if (why) for (auto& e : errors) *why += e + "\n";
    return ok;
}

json envelope(const std::string& type) {
    return {{"v", 1}, {"seq", 1}, {"time", "2026-11-21T14:18:13.123456789Z"}, {"host", "h"}, {"type", type}};
}

json process() {
    return {{"pid", 10}, {"nspid", 10}, {"uid", 0}, {"gid", 0}, {"user", "root"}, {"comm", "jattach"},
            {"exe", "/usr/bin/jattach"}, {"cmdline", {"jattach", "1", "properties"}}, {"ppid", 1},
            {"parent_comm", "bash"}, {"cgroup", "/"}, {"container_id", ""}, {"identity_from", "exec"},
            {"exited", true}};
}

json jvm() {
    return {{"pid", 1}, {"nspid", 1}, {"start_time_ticks", 5}, {"uid", 0}, {"user", "root"},
            {"exe", "/usr/bin/java"}, {"cmdline", {"java", "Main"}}, {"main", "Main"},
            {"java_home", "/usr/lib/jvm/x"}, {"jdk_version", "17.0.15"}, {"cgroup", "/"},
            {"container_id", ""}};
}

json merge(json a, const json& b) {
    for (auto it = b.begin(); it != b.end(); ++it) a[it.key()] = *it;
    return a;
}

std::vector<json> one_of_each_type() {
    json target = merge(jvm(), {{"resolved_by", "path"}});
    json zeros = {{"a", 0}};
    return {
        merge(envelope("daemon.start"), {{"version", "0.1.0"}, {"pid", 5}, {"deep", false},
                                         {"config", "<embedded default>"}, {"audit_log", "-"},
                                         {"hooks", {{"exec", "tp_btf/sched_process_exec"}}},
                                         {"jvms_running", 0}}),
        merge(envelope("daemon.stop"), {{"pid", 5}, {"reason", "SIGTERM"}, {"uptime_s", 1.5}}),
        merge(envelope("daemon.reload"), {{"ok", false}, {"config", "/etc/x.yaml"}, {"error", "x:1: bad"}}),
        merge(envelope("jvm.start"), {{"jvm", jvm()}, {"detected_by", "exec"}, {"existing", false},
                                      {"exec_time", "2026-11-21T14:18:13.1Z"}, {"libjvm_loaded", false},
                                      {"enrichment", {{"complete", false}, {"reason", "timeout"},
                                                      {"missing", {"java_home", "jdk_version"}}}}}),
        merge(envelope("jvm.exit"), {{"jvm", jvm()}, {"exit_code", 0}, {"exit_time", "2026-11-21T14:18:13Z"},
                                     {"lifetime_ms", 10.5}}),
        merge(envelope("attach"),
              {{"attacher", process()}, {"target", target}, {"self", false},
               {"start_time", "2026-11-21T14:18:13.000000001Z"}, {"end_time", "2026-11-21T14:18:13.1Z"},
               {"duration_ms", 3.2},
               {"evidence", {{"trigger", true}, {"sigquit", true}, {"connect", true}, {"request", true},
                             {"reply", true}, {"close", true}}},
               {"finalized_by", "close"}, {"connects", 1}, {"outcome", "replied"},
               {"socket_path", "/tmp/.java_pid1"}, {"protocol", 1}, {"operation", "load"},
               {"args", {"instrument", "false", "/x.jar=a"}}, {"request_complete", true},
               {"result_code", 0}, {"reply", "return code: 0"}}),
        merge(envelope("thread_dump_request"), {{"sender", process()}, {"target", target}, {"self", false},
                                                {"signal_time", "2026-11-21T14:18:13Z"}, {"signal_result", 0}}),
        merge(envelope("stats"), {{"final", true}, {"uptime_s", 3}, {"kernel", zeros}, {"userspace", zeros},
                                  {"drops", zeros}, {"evictions", zeros}, {"tables", zeros},
                                  {"enrichment", {{"queued", 2}, {"done", 1}, {"failed", 0}, {"timed_out", 1},
                                                  {"dropped", 0}, {"deduplicated", 0}, {"abandoned_workers", 1},
                                                  {"late_results_discarded", 0}, {"negative_cache_hits", 5},
                                                  {"workers", 2}, {"queue", 0}}}}),
        merge(envelope("inject.matched"), {{"jvm", {{"pid", 1}, {"main", "A"}}}, {"rule", "r"},
                                           {"agent", {{"kind", "java"}, {"path", "/a.jar"}, {"options", ""}}},
                                           {"existing", false}, {"dry_run", false}}),
        merge(envelope("inject.ok"), {{"jvm", {{"pid", 1}}}, {"rule", "r"}, {"attempts", 1}, {"ms_from_exec", nullptr},
                                       {"dynamic_load_warning", false}, {"agent_inventory", "unknown"}}),
        merge(envelope("inject.failed"), {{"jvm", {{"pid", 1}}}, {"rule", "r"}, {"outcome", "timed_out"}}),
        merge(envelope("inject.skipped"), {{"jvm", {{"pid", 1}}}, {"rule", nullptr}, {"reason", "excluded"}}),
    };
}

}  // namespace

TEST(AuditJsonSchema, TypesRequiredAndAdditionalProperties) {
    auto s = schema_of({{"type", "object"},
                        {"properties", {{"a", {{"type", "integer"}}}, {"b", {{"type", {"string", "null"}}}}}},
                        {"required", {"a"}},
                        {"additionalProperties", false}});
    EXPECT_TRUE(valid(s, {{"a", 1}}));
    EXPECT_TRUE(valid(s, {{"a", 1}, {"b", nullptr}}));
    EXPECT_TRUE(valid(s, {{"a", 2.0}}));          // an integral number is an integer
    EXPECT_FALSE(valid(s, {{"a", 1.5}}));
    EXPECT_FALSE(valid(s, {{"a", "1"}}));
    EXPECT_FALSE(valid(s, json::object()));        // a missing
    EXPECT_FALSE(valid(s, {{"a", 1}, {"c", 1}}));  // c not allowed
    EXPECT_FALSE(valid(s, {{"a", 1}, {"b", 3}}));
    EXPECT_FALSE(valid(s, json::array()));
}

TEST(AuditJsonSchema, EnumConstItemsMinimumPattern) {
    auto s = schema_of({{"type", "object"},
                        {"properties",
                         {{"e", {{"enum", {"x", "y"}}}},
                          {"c", {{"const", 1}}},
                          {"l", {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}}},
                          {"n", {{"type", "integer"}, {"minimum", 0}, {"maximum", 9}}},
                          {"t", {{"type", "string"}, {"pattern", "^[0-9]+Z$"}}}}}});
    EXPECT_TRUE(valid(s, {{"e", "x"}, {"c", 1}, {"l", {"a", "b"}}, {"n", 0}, {"t", "12Z"}}));
    EXPECT_FALSE(valid(s, {{"e", "z"}}));
    EXPECT_FALSE(valid(s, {{"c", 2}}));
    EXPECT_FALSE(valid(s, {{"l", {"a", 1}}}));
    EXPECT_FALSE(valid(s, {{"l", {""}}}));
    EXPECT_FALSE(valid(s, {{"n", -1}}));
    EXPECT_FALSE(valid(s, {{"n", 10}}));
    EXPECT_FALSE(valid(s, {{"t", "12"}}));
}

TEST(AuditJsonSchema, OneOfAndRefs) {
    auto s = schema_of({{"$defs", {{"a", {{"type", "object"}, {"properties", {{"k", {{"const", "a"}}}}}, {"required", {"k"}}}},
                                   {"b", {{"type", "object"}, {"properties", {{"k", {{"const", "b"}}}}}, {"required", {"k"}}}}}},
                        {"oneOf", {{{"$ref", "#/$defs/a"}}, {{"$ref", "#/$defs/b"}}}}});
    EXPECT_TRUE(valid(s, {{"k", "a"}}));
    EXPECT_TRUE(valid(s, {{"k", "b"}}));
    EXPECT_FALSE(valid(s, {{"k", "c"}}));
    // Both branches match: not "one" of.
    auto both = schema_of({{"oneOf", {{{"type", "integer"}}, {{"type", "number"}}}}});
    EXPECT_FALSE(valid(both, 1));
    EXPECT_TRUE(valid(both, 1.5));
    auto dangling = schema_of({{"$ref", "#/$defs/nope"}});
    EXPECT_FALSE(valid(dangling, 1));
}

TEST(AuditJsonSchema, RefusesKeywordsItDoesNotCheck) {
    std::string err;
    EXPECT_FALSE(JsonSchema::from_json({{"type", "object"}, {"patternProperties", json::object()}}, &err));
    EXPECT_NE(err.find("patternProperties"), std::string::npos);
    EXPECT_FALSE(JsonSchema::from_json({{"properties", {{"a", {{"if", true}}}}}}, &err));
    EXPECT_FALSE(JsonSchema::from_json({{"pattern", "("}}, &err));
    EXPECT_TRUE(JsonSchema::from_json({{"title", "t"}, {"description", "d"}, {"format", "date-time"}}, &err));
}

TEST(AuditJsonSchema, EventSchemaAcceptsOneOfEveryType) {
    const auto& schema = jvmwatch::test::event_schema();
    for (const auto& ev : one_of_each_type()) {
        std::string why;
        EXPECT_TRUE(valid(schema, ev, &why)) << ev["type"] << ":\n" << why;
    }
}

TEST(AuditJsonSchema, EventSchemaRejectsBrokenEvents) {
    const auto& schema = jvmwatch::test::event_schema();
    auto evs = one_of_each_type();
    for (const auto& good : evs) {
        std::string t = good["type"];
        json no_time = good;
        no_time.erase("time");
        EXPECT_FALSE(valid(schema, no_time)) << t << " without time";
        json bad_time = good;
        bad_time["time"] = "yesterday";
        EXPECT_FALSE(valid(schema, bad_time)) << t << " with a bad time";
        json bad_version = good;
        bad_version["v"] = 2;
        EXPECT_FALSE(valid(schema, bad_version)) << t << " with schema version 2";
        if (t.rfind("inject.", 0) != 0) {
            json extra = good;
            extra["surprise"] = 1;
            EXPECT_FALSE(valid(schema, extra)) << t << " with an unknown field";
        }
    }
    json unknown = envelope("jvm.rename");
    EXPECT_FALSE(valid(schema, unknown));
    json attach = evs[5];
    attach["attacher"].erase("pid");
    EXPECT_FALSE(valid(schema, attach));
    attach = evs[5];
    attach["finalized_by"] = "magic";
    EXPECT_FALSE(valid(schema, attach));
    attach = evs[5];
    attach["target"]["pid"] = -3;
    EXPECT_FALSE(valid(schema, attach));
    json start = evs[3];
    start["jvm"]["cmdline"] = "java Main";
    EXPECT_FALSE(valid(schema, start));
    json skipped = evs[11];
    skipped.erase("reason");
    EXPECT_FALSE(valid(schema, skipped));
    skipped = evs[11];
    skipped["jvm"].erase("pid");
    EXPECT_FALSE(valid(schema, skipped));
}
