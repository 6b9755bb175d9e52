// The inject: policy: every config error is refused with FILE:LINE: reason.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "tests/common/support.h"
#include "tests/unit/zip_test_image.h"
#include "userspace/policy/agent_file_check.h"
#include "userspace/policy/policy_parser.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::policy {
namespace {

using test::TempDir;

class PolicyParser : public ::testing::Test {
protected:
    void SetUp() override {
        chmod(dir_.path().c_str(), 0755);  // TempDir is 0777, which the check refuses
        agent_ = write("agent.jar", "agent bytes", 0644);
    }
    std::string write(const std::string& name, const std::string& text, mode_t mode) {
        std::string p = dir_.file(name);
        std::ofstream(p) << text;
        chmod(p.c_str(), mode);
        return p;
    }
    std::optional<Policy> parse(const std::string& yaml) {
        auto file = write("jvmwatchd.yaml", yaml, 0644);
        errors_.clear();
        ParseOptions o;
        o.trusted_uid = geteuid();
        return load_policy_file(file, &errors_, o);
    }
    // The first error, with the temp path replaced by "F".
    std::string error() const {
        if (errors_.empty()) return "";
        std::string e = errors_[0];
        std::string f = dir_.file("jvmwatchd.yaml");
        if (e.rfind(f, 0) == 0) e = "F" + e.substr(f.size());
        return e;
    }
    std::string rule_with(const std::string& extra) {
        return "inject:\n  rules:\n    - name: r1\n      agent: {jar: " + agent_ + "}\n" + extra;
    }
    TempDir dir_{"jw-policy"};
    std::string agent_;
    std::vector<std::string> errors_;
};

TEST_F(PolicyParser, FullPolicyParses) {
    auto p = parse("inject:\n"
                   "  dry_run: true\n"
                   "  max_in_flight: 3\n"
                   "  rate_limit: 5.5\n"
                   "  include_existing: true\n"
                   "  state_dir: /var/tmp/jw\n"
                   "  rules:\n"
                   "    - name: apm\n"
                   "      match:\n"
                   "        main: [{glob: \"com.example.*\"}, {regex: \"^org\\\\.x\\\\.\"}]\n"
                   "        args: {regex: \"--profile=prod\"}\n"
                   "        exe: \"/usr/lib/jvm/*/bin/java\"\n"
                   "        user: [app, web]\n"
                   "        uid: 1000\n"
                   "        cgroup: {glob: \"/system.slice/*\"}\n"
                   "        container: {regex: \"^[0-9a-f]+$\"}\n"
                   "        env: [APM_ON, {name: STAGE, value: {glob: \"prod*\"}}]\n"
                   "        jdk: \">=11,<21\"\n"
                   "        flags: [\"-XX:+UseG1GC\"]\n"
                   "      exclude:\n"
                   "        - main: \"*Test\"\n"
                   "      agent: {jar: " + agent_ + ", options: \"a=1\", sha256: \"" +
                   sha256_hex("agent bytes") + "\"}\n"
                   "      when: {delay_ms: 250}\n"
                   "      retries: 4\n"
                   "      backoff_ms: 50\n"
                   "      timeout_ms: 3000\n"
                   "    - name: native\n"
                   "      agent: {native: " + agent_ + "}\n"
                   "      when: {milestone: main}\n"
                   "      include_existing: false\n");
    ASSERT_TRUE(p) << error();
    EXPECT_TRUE(p->dry_run);
    EXPECT_EQ(p->max_in_flight, 3u);
    EXPECT_DOUBLE_EQ(p->rate_limit, 5.5);
    EXPECT_EQ(p->state_dir, "/var/tmp/jw");
    ASSERT_EQ(p->rules.size(), 2u);
    const Rule& r = p->rules[0];
    EXPECT_EQ(r.name, "apm");
    EXPECT_EQ(r.line, 8);
    EXPECT_EQ(r.match.main.size(), 2u);
    EXPECT_EQ(r.match.users, (std::vector<std::string>{"app", "web"}));
    EXPECT_EQ(r.match.uids, (std::vector<uid_t>{1000}));
    ASSERT_EQ(r.match.env.size(), 2u);
    EXPECT_FALSE(r.match.env[0].value);
    EXPECT_TRUE(r.match.env[1].value);
    EXPECT_EQ(r.exclude.size(), 1u);
    EXPECT_EQ(r.agent.kind, AgentKind::java);
    EXPECT_EQ(r.agent.options, "a=1");
    EXPECT_EQ(r.when.kind, When::Kind::delay);
    EXPECT_EQ(r.when.delay_ms, 250u);
    EXPECT_EQ(r.retries, 4u);
    EXPECT_TRUE(r.include_existing);  // the global default
    EXPECT_EQ(p->rules[1].agent.kind, AgentKind::native);
    EXPECT_EQ(p->rules[1].when.milestone, Milestone::main);
    EXPECT_FALSE(p->rules[1].include_existing);
}

TEST_F(PolicyParser, NoInjectSectionIsAnEmptyPolicy) {
    auto p = parse("audit: {x: 1}\n");
    ASSERT_TRUE(p) << error();
    EXPECT_TRUE(p->rules.empty());
}

TEST_F(PolicyParser, UnknownTopLevelKey) {
    EXPECT_FALSE(parse("inject:\n  dry_run: true\n  max_inflight: 3\n"));
    EXPECT_EQ(error().substr(0, 35), "F:3: unknown key \"max_inflight\" in ");
}

TEST_F(PolicyParser, UnknownRuleKey) {
    EXPECT_FALSE(parse(rule_with("      retry: 3\n")));
    EXPECT_EQ(error().substr(0, 28), "F:5: unknown key \"retry\" in ");
}

TEST_F(PolicyParser, UnknownMatcherKey) {
    EXPECT_FALSE(parse(rule_with("      match: {mainclass: x}\n")));
    EXPECT_NE(error().find("F:5: unknown key \"mainclass\""), std::string::npos) << error();
}

TEST_F(PolicyParser, BadRegexGivesRe2Text) {
    EXPECT_FALSE(parse(rule_with("      match:\n        main: {regex: \"a(b\"}\n")));
    EXPECT_EQ(error(), "F:6: rule \"r1\".match.main: bad regex \"a(b\": missing ): a(b");
}

TEST_F(PolicyParser, BadGlob) {
    EXPECT_FALSE(parse(rule_with("      match:\n        exe: {glob: \"/usr/[ab\"}\n")));
    EXPECT_EQ(error(), "F:6: rule \"r1\".match.exe: bad glob \"/usr/[ab\": unclosed '[' at offset 5");
}

TEST_F(PolicyParser, MissingAgentFile) {
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent:\n        jar: " +
                       dir_.file("nope.jar") + "\n"));
    EXPECT_EQ(error(), "F:5: rule \"r\".agent: agent file " + dir_.file("nope.jar") +
                           " does not exist");
}

TEST_F(PolicyParser, AgentWritableByOthersIsUnsafe) {
    chmod(agent_.c_str(), 0666);
    EXPECT_FALSE(parse(rule_with("")));
    EXPECT_NE(error().find("F:4: rule \"r1\".agent: agent file " + agent_ +
                           " is writable by group or others (mode 0666)"),
              std::string::npos) << error();
}

TEST_F(PolicyParser, AgentInGroupWritableDirIsUnsafe) {
    chmod(dir_.path().c_str(), 0775);
    EXPECT_FALSE(parse(rule_with("")));
    EXPECT_NE(error().find("directory " + dir_.path() + " is writable by group or others"),
              std::string::npos) << error();
}

// Hashing is capped: a huge (sparse) agent file is refused, not read through.
TEST_F(PolicyParser, AgentLargerThanTheCapIsRefused) {
    ASSERT_EQ(truncate(agent_.c_str(), 200ll << 30), 0);  // 200 GiB, sparse
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent: {jar: " + agent_ + "}\n"));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));  // reading would take minutes
    EXPECT_NE(error().find("is larger than " + std::to_string(kMaxAgentBytes) + " bytes"), std::string::npos)
        << error();
    // The cap holds for the bytes read, too (a file that grows while hashed).
    ASSERT_EQ(truncate(agent_.c_str(), 100), 0);
    std::string why;
    EXPECT_FALSE(open_agent_source(agent_, std::nullopt, geteuid(), &why, 99));
    EXPECT_NE(why.find("is larger than 99 bytes"), std::string::npos) << why;
    auto ok = open_agent_source(agent_, std::nullopt, geteuid(), &why, 100);
    ASSERT_TRUE(ok) << why;
    EXPECT_EQ(ok->size, 100u);
    EXPECT_EQ(ok->sha256, sha256_hex("agent bytes" + std::string(89, '\0')));
    bool too_big = false;
    EXPECT_FALSE(sha256_fd(ok->fd.get(), 99, &too_big));
    EXPECT_TRUE(too_big);
}

// The JVM is given STATE_DIR/agents/<sha256>.jar: that path and the options must fit the
// protocol's 1024-byte argument, whatever the configured path's length.
TEST_F(PolicyParser, OptionsMustFitWithTheStorePath) {
    std::string state = "/" + std::string(300, 's');
    auto yaml = [&](size_t opt_len) {
        return "inject:\n  state_dir: " + state + "\n  rules:\n    - name: r\n      agent: {jar: " + agent_ +
               ", options: \"" + std::string(opt_len, 'o') + "\"}\n";
    };
    size_t given = state.size() + std::string("/agents/").size() + 64 + 4;
    EXPECT_TRUE(parse(yaml(1024 - given - 1))) << error();
    EXPECT_FALSE(parse(yaml(1024 - given)));
    EXPECT_EQ(error(), "F:5: rule \"r\".agent.options: the agent path given to the JVM (" +
                           std::to_string(given) + " bytes) and options exceed 1024 bytes");
}

TEST_F(PolicyParser, AgentSymlinkIsUnsafe) {
    std::string link = dir_.file("link.jar");
    ASSERT_EQ(symlink(agent_.c_str(), link.c_str()), 0);
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent: {jar: " + link + "}\n"));
    EXPECT_NE(error().find("is a symlink"), std::string::npos) << error();
}

TEST_F(PolicyParser, AgentNotOwnedByTrustedUser) {
    std::vector<std::string> errors;
    ParseOptions o;
    o.trusted_uid = geteuid() + 1;  // nobody we are
    auto file = write("p.yaml", rule_with(""), 0644);
    if (geteuid() == 0) {
        // As root the file is root's: hand it to another user instead.
        ASSERT_EQ(chown(agent_.c_str(), 65534, 65534), 0);
        o.trusted_uid = 0;
    }
    EXPECT_FALSE(load_policy_file(file, &errors, o));
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors[0].find("is owned by uid"), std::string::npos) << errors[0];
}

TEST_F(PolicyParser, Sha256Mismatch) {
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent: {jar: " + agent_ +
                       ", sha256: \"" + std::string(64, 'a') + "\"}\n"));
    EXPECT_NE(error().find("has sha256 " + sha256_hex("agent bytes") + ", the rule pins aaaa"),
              std::string::npos) << error();
}

TEST_F(PolicyParser, Sha256Malformed) {
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent: {jar: " + agent_ +
                       ", sha256: xyz}\n"));
    EXPECT_EQ(error(), "F:4: rule \"r\".agent.sha256: expected 64 hex digits");
}

TEST_F(PolicyParser, WrongTypes) {
    EXPECT_FALSE(parse("inject:\n  max_in_flight: many\n"));
    EXPECT_EQ(error(), "F:2: inject.max_in_flight: expected an integer");
    EXPECT_FALSE(parse("inject:\n  dry_run: perhaps\n"));
    EXPECT_EQ(error(), "F:2: inject.dry_run: expected true or false");
    EXPECT_FALSE(parse("inject:\n  rules: {a: 1}\n"));
    EXPECT_EQ(error(), "F:2: inject.rules: expected a list");
    EXPECT_FALSE(parse("inject:\n  rate_limit: [1]\n"));
    EXPECT_EQ(error(), "F:2: inject.rate_limit: expected a number");
    EXPECT_FALSE(parse(rule_with("      timeout_ms: 1.5\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".timeout_ms: expected an integer");
    EXPECT_FALSE(parse(rule_with("      match: [main]\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".match: expected a mapping");
}

TEST_F(PolicyParser, OutOfRange) {
    EXPECT_FALSE(parse("inject:\n  max_in_flight: 0\n"));
    EXPECT_EQ(error(), "F:2: inject.max_in_flight: 0 is out of range [1, 64]");
    EXPECT_FALSE(parse("inject:\n  rate_limit: 0\n"));
    EXPECT_EQ(error(), "F:2: inject.rate_limit: must be > 0 (attaches per second)");
}

TEST_F(PolicyParser, BadWhen) {
    EXPECT_FALSE(parse(rule_with("      when: later\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".when: expected early, {delay_ms: N} or {milestone: NAME}");
    EXPECT_FALSE(parse(rule_with("      when: {milestone: gc}\n")));
    EXPECT_NE(error().find("F:5: rule \"r1\".when.milestone: unknown milestone \"gc\""),
              std::string::npos) << error();
}

TEST_F(PolicyParser, BadJdkRange) {
    EXPECT_FALSE(parse(rule_with("      match: {jdk: \">=eleven\"}\n")));
    EXPECT_NE(error().find("F:5: rule \"r1\".match.jdk: bad JDK version range"), std::string::npos)
        << error();
}

TEST_F(PolicyParser, MissingNameAndAgent) {
    EXPECT_FALSE(parse("inject:\n  rules:\n    - match: {main: x}\n"));
    ASSERT_EQ(errors_.size(), 2u);
    EXPECT_EQ(error(), "F:3: inject.rules[0]: missing \"name\"");
    EXPECT_NE(errors_[1].find(":3: inject.rules[0]: missing \"agent\""), std::string::npos);
}

TEST_F(PolicyParser, DuplicateRuleName) {
    EXPECT_FALSE(parse(rule_with("    - name: r1\n      agent: {jar: " + agent_ + "}\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\": duplicate rule name");
}

TEST_F(PolicyParser, JarAndNativeTogether) {
    EXPECT_FALSE(parse("inject:\n  rules:\n    - name: r\n      agent: {jar: " + agent_ +
                       ", native: " + agent_ + "}\n"));
    EXPECT_EQ(error(), "F:4: rule \"r\".agent: give either jar or native, not both");
}

TEST_F(PolicyParser, EmptyExcludeIsRefused) {
    EXPECT_FALSE(parse(rule_with("      exclude: [{}]\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".exclude: an empty matcher would exclude every JVM");
}

TEST_F(PolicyParser, ExampleConfigParses) {
    // docs/examples/inject-apm.yaml, with the agent and its pin swapped for a test file.
    std::ifstream in(test::source_dir() + "/docs/examples/inject-apm.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string y = ss.str();
    ASSERT_FALSE(y.empty());
    for (size_t p; (p = y.find("/opt/apm/apm-agent.jar")) != std::string::npos;) y.replace(p, 22, agent_);
    y.replace(y.find(std::string(64, '0')), 64, sha256_hex("agent bytes"));
    auto p = parse(y);
    ASSERT_TRUE(p) << error();
    EXPECT_EQ(p->rules.size(), 1u);
    EXPECT_EQ(p->rules[0].exclude.size(), 2u);
}

TEST_F(PolicyParser, RelativeStateDir) {
    EXPECT_FALSE(parse("inject:\n  state_dir: var/lib\n"));
    EXPECT_EQ(error(), "F:2: inject.state_dir: must be an absolute path");
}

TEST_F(PolicyParser, YamlSyntaxError) {
    EXPECT_FALSE(parse("inject:\n  rules: [\n"));
    EXPECT_EQ(error().substr(0, 2), "F:");
    EXPECT_NE(error().find(':', 2), std::string::npos);
}

TEST_F(PolicyParser, ErrorsFromSeveralRulesAreAllReported) {
    EXPECT_FALSE(parse("inject:\n  bogus: 1\n  rules:\n    - name: a\n      agent: {jar: /nonexistent/a.jar}\n"));
    EXPECT_EQ(errors_.size(), 2u);
}

TEST_F(PolicyParser, ConflictsParsePathAndClassGlobs) {
    auto p = parse(rule_with("      conflicts:\n"
                             "        - \"*/dd-java-agent*.jar\"\n"
                             "        - \"class:io.opentelemetry.javaagent.*\"\n"
                             "      on_dynamic_load_warning: skip\n"));
    ASSERT_TRUE(p) << error();
    const auto& c = p->rules[0].conflicts;
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].on, Conflict::On::path);
    EXPECT_TRUE(c[0].pattern.matches("/opt/datadog/dd-java-agent-1.30.jar"));
    EXPECT_EQ(c[1].on, Conflict::On::agent_class);
    EXPECT_EQ(c[1].text, "class:io.opentelemetry.javaagent.*");
    EXPECT_TRUE(c[1].pattern.matches("io.opentelemetry.javaagent.OpenTelemetryAgent"));
    EXPECT_FALSE(c[1].pattern.matches("class:io.opentelemetry.javaagent.OpenTelemetryAgent"));
    EXPECT_EQ(p->rules[0].on_dynamic_load_warning, OnDynamicLoadWarning::skip);
}

TEST_F(PolicyParser, DefaultsLoadOnWarningAndNoConflicts) {
    auto p = parse(rule_with(""));
    ASSERT_TRUE(p) << error();
    EXPECT_TRUE(p->rules[0].conflicts.empty());
    EXPECT_EQ(p->rules[0].on_dynamic_load_warning, OnDynamicLoadWarning::load);
}

TEST_F(PolicyParser, BadConflictsAreRefusedWithTheirLine) {
    EXPECT_FALSE(parse(rule_with("      conflicts: [\"dd-java-agent.jar\"]\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".conflicts: \"dd-java-agent.jar\" is neither a path glob "
                       "(starting with / or *) nor class:GLOB");
    EXPECT_FALSE(parse(rule_with("      conflicts:\n        - \"class:\"\n")));
    EXPECT_EQ(error(), "F:6: rule \"r1\".conflicts: \"class:\": empty pattern");
    EXPECT_FALSE(parse(rule_with("      conflicts: []\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".conflicts: empty list");
    EXPECT_FALSE(parse(rule_with("      conflicts: [{a: b}]\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".conflicts: expected a string");
}

TEST_F(PolicyParser, BadOnDynamicLoadWarning) {
    EXPECT_FALSE(parse(rule_with("      on_dynamic_load_warning: refuse\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".on_dynamic_load_warning: \"refuse\" (expected load or skip)");
    EXPECT_FALSE(parse(rule_with("      on_dynamic_load_warning: [load]\n")));
    EXPECT_EQ(error(), "F:5: rule \"r1\".on_dynamic_load_warning: expected a string");
}

TEST_F(PolicyParser, AgentManifestClassesAreReadAtLoad) {
    auto jar = test::build_zip({{"META-INF/MANIFEST.MF",
                                 "Manifest-Version: 1.0\r\nAgent-Class: a.Agent\r\n"
                                 "Premain-Class: a.Premain\r\n\r\n", true}});
    std::string path = write("real.jar", jar.bytes, 0644);
    auto p = parse("inject:\n  rules:\n    - name: r1\n      agent: {jar: " + path + "}\n");
    ASSERT_TRUE(p) << error();
    EXPECT_EQ(p->rules[0].agent.manifest_classes, (std::vector<std::string>{"a.Agent", "a.Premain"}));
    EXPECT_EQ(p->rules[0].agent.content_sha256, sha256_hex(jar.bytes));
    // Not a jar: loaded as before, with no classes to compare.
    auto q = parse(rule_with(""));
    ASSERT_TRUE(q) << error();
    EXPECT_TRUE(q->rules[0].agent.manifest_classes.empty());
}

}  // namespace
}  // namespace jvmwatch::policy
