// Rule matching: each matcher field, AND across fields, first match wins, exclusions.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "tests/common/support.h"
#include "userspace/policy/policy_parser.h"
#include "userspace/policy/rule_matcher.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::policy {
namespace {

Policy policy_of(const std::string& rules_yaml) {
    std::vector<std::string> errors;
    ParseOptions o;
    o.check_agent_files = false;
    auto p = parse_policy(YAML::Load("rules:\n" + rules_yaml), "t.yaml", &errors, o);
    EXPECT_TRUE(p) << (errors.empty() ? "" : errors[0]);
    return p ? *p : Policy{};
}

jvm::JvmProcess jvm_of(const std::string& main, std::vector<std::string> cmdline = {}) {
    jvm::JvmProcess j;
    j.pid = 999999999;  // no such process: env/cgroup read as empty
    j.main = main;
    j.exe = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java";
    j.user = "app";
    j.euid = 1000;
    j.jdk_version = "17.0.15";
    j.cmdline = cmdline.empty() ? std::vector<std::string>{"java", "-Xmx32m", main} : cmdline;
    return j;
}

const char* kAgent = "    agent: {jar: /a.jar}\n";

std::string first_rule(const Policy& p, const jvm::JvmProcess& j, bool* excluded = nullptr) {
    Subject s(j, "/nonexistent-proc");
    auto d = decide(p, s);
    if (excluded) *excluded = d.excluded;
    return d.rule ? d.rule->name : "";
}

TEST(PolicyMatch, MainGlobAndRegex) {
    auto p = policy_of(std::string("  - name: g\n    match: {main: {glob: \"com.example.*\"}}\n") +
                       kAgent + "  - name: r\n    match: {main: {regex: \"^org\\\\.acme\\\\.[A-Z]\"}}\n" +
                       kAgent);
    EXPECT_EQ(first_rule(p, jvm_of("com.example.Shop")), "g");
    EXPECT_EQ(first_rule(p, jvm_of("org.acme.Main")), "r");
    EXPECT_EQ(first_rule(p, jvm_of("org.acme.main")), "");
    EXPECT_EQ(first_rule(p, jvm_of("net.Other")), "");
}

TEST(PolicyMatch, JarMainMatchesWithOrWithoutDashJar) {
    auto p = policy_of(std::string("  - name: j\n    match: {main: \"*/shop.jar\"}\n") + kAgent);
    EXPECT_EQ(first_rule(p, jvm_of("-jar /srv/shop.jar", {"java", "-jar", "/srv/shop.jar"})), "j");
}

TEST(PolicyMatch, FirstMatchWinsAndExcludeEndsTheSearch) {
    auto p = policy_of(std::string("  - name: a\n    match: {main: \"jw.*\"}\n    exclude: [{args: \"--no-apm\"}]\n") +
                       kAgent + "  - name: b\n" + kAgent);
    bool excluded = false;
    EXPECT_EQ(first_rule(p, jvm_of("jw.App"), &excluded), "a");
    EXPECT_FALSE(excluded);
    EXPECT_EQ(first_rule(p, jvm_of("jw.App", {"java", "jw.App", "--no-apm"}), &excluded), "a");
    EXPECT_TRUE(excluded);
    EXPECT_EQ(first_rule(p, jvm_of("x.Y"), &excluded), "b");  // empty match: every JVM
}

TEST(PolicyMatch, AllFieldsMustHold) {
    auto p = policy_of(std::string("  - name: a\n    match: {main: \"jw.*\", user: web}\n") + kAgent);
    EXPECT_EQ(first_rule(p, jvm_of("jw.App")), "");  // user is "app"
    auto j = jvm_of("jw.App");
    j.user = "web";
    EXPECT_EQ(first_rule(p, j), "a");
}

TEST(PolicyMatch, UidExeArgs) {
    auto p = policy_of(std::string("  - name: u\n    match: {uid: [0, 1000], exe: \"/usr/lib/jvm/*-17-*/bin/java\", args: {regex: \"^-Dapp=\"}}\n") + kAgent);
    EXPECT_EQ(first_rule(p, jvm_of("m.M", {"java", "-Dapp=1", "m.M"})), "u");
    EXPECT_EQ(first_rule(p, jvm_of("m.M", {"java", "m.M"})), "");
    auto j = jvm_of("m.M", {"java", "-Dapp=1", "m.M"});
    j.euid = 5;
    EXPECT_EQ(first_rule(p, j), "");
}

TEST(PolicyMatch, JdkRange) {
    auto p = policy_of(std::string("  - name: v\n    match: {jdk: \">=11,<21\"}\n") + kAgent);
    auto j = jvm_of("m.M");
    EXPECT_EQ(first_rule(p, j), "v");
    j.jdk_version = "21.0.1";
    EXPECT_EQ(first_rule(p, j), "");
    j.jdk_version = "1.8.0_392";
    EXPECT_EQ(first_rule(p, j), "");
    j.jdk_version = "";
    EXPECT_EQ(first_rule(p, j), "");
}

TEST(PolicyMatch, VersionRangeSemantics) {
    std::string e;
    auto r = VersionRange::parse("17", &e);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->contains("17.0.15"));
    EXPECT_FALSE(r->contains("11.0.2"));
    auto r2 = VersionRange::parse(">8, <=17.0.2", &e);
    ASSERT_TRUE(r2) << e;
    EXPECT_TRUE(r2->contains("17.0.2"));
    EXPECT_FALSE(r2->contains("17.0.3"));
    EXPECT_FALSE(r2->contains("1.8.0_1"));
    EXPECT_TRUE(r2->contains("11"));
}

TEST(PolicyMatch, FlagsOnlyBeforeMainClass) {
    auto p = policy_of(std::string("  - name: f\n    match: {flags: [\"-XX:+UseSerialGC\"]}\n") + kAgent);
    EXPECT_EQ(first_rule(p, jvm_of("m.M", {"java", "-cp", "x", "-XX:+UseSerialGC", "m.M"})), "f");
    // After the main class it is the application's argument, not a JVM flag.
    EXPECT_EQ(first_rule(p, jvm_of("m.M", {"java", "m.M", "-XX:+UseSerialGC"})), "");
}

TEST(PolicyMatch, ContainerIdIsTheOneTheStreamReports) {
    // A fixture /proc whose cgroup names a Docker container: the rule sees the same id
    // as the audit stream (daemon::container_id_from_cgroup).
    test::TempDir proc("policy-proc");
    std::string id(64, 'b');
    id[0] = '7';
    std::filesystem::create_directories(proc.file("4242"));
    std::ofstream(proc.file("4242/cgroup")) << "0::/system.slice/docker-" << id << ".scope\n";
    auto p = policy_of(std::string("  - name: c\n    match: {container: \"7b*\"}\n") + kAgent);
    auto j = jvm_of("m.M");
    j.pid = 4242;
    Subject in_container(j, proc.path());
    EXPECT_EQ(in_container.container_id(), id);
    ASSERT_TRUE(decide(p, in_container).rule);
    // Not in a container: a container rule never matches.
    std::ofstream(proc.file("4242/cgroup"), std::ios::trunc) << "0::/user.slice/session-3.scope\n";
    Subject outside(j, proc.path());
    EXPECT_FALSE(decide(p, outside).rule);
}

TEST(PolicyMatch, EnvFromProc) {
    // Our own process: PATH is set, a random name is not.
    auto p = policy_of(std::string("  - name: e\n    match: {env: [PATH, {name: PATH, value: {regex: \"/\"}}]}\n") +
                       kAgent + "  - name: n\n    match: {env: JW_SURELY_NOT_SET_42}\n" + kAgent);
    auto j = jvm_of("m.M");
    j.pid = getpid();
    Subject s(j, "/proc");
    auto d = decide(p, s);
    ASSERT_TRUE(d.rule);
    EXPECT_EQ(d.rule->name, "e");
    Policy only_n;
    only_n.rules.push_back(p.rules[1]);
    EXPECT_FALSE(decide(only_n, s).rule);
}


TEST(PolicyMatch, GlobIsWholeStringRegexIsPartial) {
    std::string e;
    auto g = Pattern::glob("com.*", &e);
    auto r = Pattern::regex("Main", &e);
    ASSERT_TRUE(g && r);
    EXPECT_TRUE(g->matches("com.x.Main"));
    EXPECT_FALSE(g->matches("xcom.x"));
    EXPECT_TRUE(r->matches("com.x.Main"));
}

TEST(PolicyMatch, Sha256KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(std::string(1000, 'a')),
              "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

}  // namespace
}  // namespace jvmwatch::policy
