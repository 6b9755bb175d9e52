// A JVM's command-line agents: parsing (-javaagent, -agentpath, -agentlib; options; caps)
// and hashing the files as the JVM sees them, through a fake /proc whose <pid>/root and
// <pid>/cwd are links, as the kernel's are (a chroot: both point below our root).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "tests/common/support.h"
#include "userspace/daemon/proc_enrichment.h"
#include "userspace/daemon/static_agents.h"
#include "userspace/policy/sha256.h"

namespace jvmwatch::daemon {
namespace {

using test::TempDir;

// The file's sha256, "" when it was not looked up or not hashed.
std::string sha(const StaticAgent& s) { return s.file ? s.file->sha256 : ""; }
// Why it has no sha256: a parse-level reason or the file's.
std::string why(const StaticAgent& s) { return !s.why.empty() ? s.why : s.file ? s.file->why : ""; }

std::vector<std::string> cmd(std::initializer_list<std::string> args) {
    std::vector<std::string> v{"/usr/bin/java"};
    v.insert(v.end(), args);
    return v;
}

TEST(StaticAgentsParse, AllThreeFormsWithAndWithoutOptions) {
    auto a = parse_static_agents(cmd({"-Xmx1g", "-javaagent:/opt/a.jar=k=v,x=y", "-agentpath:/lib/libx.so",
                                      "-agentlib:jdwp=transport=dt_socket,server=y", "-javaagent:rel.jar=",
                                      "-cp", "-javaagent:/not/an/agent.jar", "Main"}));
    ASSERT_EQ(a.agents.size(), 4u);
    EXPECT_EQ(a.dropped, 0u);
    EXPECT_EQ(a.agents[0].kind, "java");
    EXPECT_EQ(a.agents[0].path, "/opt/a.jar");
    EXPECT_TRUE(a.agents[0].has_options);
    EXPECT_EQ(a.agents[0].options, "k=v,x=y");   // only the first '=' splits
    EXPECT_EQ(a.agents[1].kind, "native");
    EXPECT_EQ(a.agents[1].path, "/lib/libx.so");
    EXPECT_FALSE(a.agents[1].has_options);
    EXPECT_EQ(a.agents[2].kind, "lib");
    EXPECT_EQ(a.agents[2].path, "jdwp");
    EXPECT_EQ(a.agents[2].options, "transport=dt_socket,server=y");
    EXPECT_EQ(a.agents[3].path, "rel.jar");
    EXPECT_TRUE(a.agents[3].has_options);
    EXPECT_EQ(a.agents[3].options, "");
}

TEST(StaticAgentsParse, TheProgramsOwnArgumentsAreNotAgents) {
    EXPECT_TRUE(parse_static_agents(cmd({"Main", "-javaagent:/x.jar"})).agents.empty());
    EXPECT_TRUE(parse_static_agents(cmd({"-jar", "app.jar", "-javaagent:/x.jar"})).agents.empty());
    EXPECT_TRUE(parse_static_agents(cmd({"-m", "mod/Main", "-agentpath:/x.so"})).agents.empty());
    EXPECT_TRUE(parse_static_agents(cmd({"--module=mod/Main", "-agentpath:/x.so"})).agents.empty());
    // A launcher option's value is skipped, not taken for the main class.
    auto a = parse_static_agents(cmd({"--add-opens", "java.base/java.lang=ALL-UNNAMED", "-javaagent:/x.jar", "M"}));
    ASSERT_EQ(a.agents.size(), 1u);
    EXPECT_EQ(a.agents[0].path, "/x.jar");
    // The launcher itself (cmdline[0]) and near-misses are not agents.
    EXPECT_TRUE(parse_static_agents({"-javaagent:/x.jar", "-javaagentx:/y.jar", "-agentpath", "M"}).agents.empty());
    EXPECT_TRUE(parse_static_agents({}).agents.empty());
}

TEST(StaticAgentsParse, OddPathsAreKeptAsGivenAndEmptyOnesSaySo) {
    auto a = parse_static_agents(cmd({"-javaagent:", "-javaagent:=opts", "-javaagent:/a b/\"q\".jar=x y",
                                      "-javaagent:/t\n\x01.jar", "M"}));
    ASSERT_EQ(a.agents.size(), 4u);
    EXPECT_EQ(a.agents[0].path, "");
    EXPECT_EQ(a.agents[0].why, "no path");
    EXPECT_EQ(a.agents[1].why, "no path");
    EXPECT_EQ(a.agents[1].options, "opts");
    EXPECT_EQ(a.agents[2].path, "/a b/\"q\".jar");
    EXPECT_EQ(a.agents[2].options, "x y");
    EXPECT_EQ(a.agents[3].path, "/t\n\x01.jar");
}

TEST(StaticAgentsParse, ManyAgentsAndLongStringsAreCapped) {
    std::vector<std::string> c{"java"};
    for (int i = 0; i < 40; ++i) c.push_back("-javaagent:/a" + std::to_string(i) + ".jar");
    c.push_back("M");
    auto a = parse_static_agents(c);
    EXPECT_EQ(a.agents.size(), kMaxStaticAgents);
    EXPECT_EQ(a.dropped, 40 - kMaxStaticAgents);
    EXPECT_EQ(a.agents.back().path, "/a" + std::to_string(kMaxStaticAgents - 1) + ".jar");

    std::string long_opts(100000, 'o');
    std::string long_path = "/" + std::string(kMaxAgentPath + 10, 'p');
    // A multi-byte character across the cut is not split.
    std::string utf8_opts = std::string(kMaxAgentOptions - 1, 'u') + "\xc3\xa9";
    auto b = parse_static_agents(cmd({"-javaagent:/x.jar=" + long_opts, "-agentpath:" + long_path,
                                      "-javaagent:/y.jar=" + utf8_opts}));
    ASSERT_EQ(b.agents.size(), 3u);
    EXPECT_EQ(b.agents[0].options.size(), kMaxAgentOptions);
    EXPECT_LE(b.agents[1].path.size(), kMaxAgentPath);
    EXPECT_EQ(b.agents[1].why, "path too long");
    EXPECT_EQ(b.agents[2].options, std::string(kMaxAgentOptions - 1, 'u'));
}

// <dir>/proc/<pid>/{root,cwd} are links to <dir>/rootfs and <dir>/rootfs/app.
class StaticAgentsHash : public ::testing::Test {
protected:
    static constexpr pid_t kPid = 4242;
    void SetUp() override {
        rootfs_ = dir_.path() + "/rootfs";
        proc_ = dir_.path() + "/proc";
        std::string piddir = proc_ + "/" + std::to_string(kPid);
        for (const std::string& d : {rootfs_, rootfs_ + "/app", rootfs_ + "/opt", rootfs_ + "/etc",
                                     proc_, piddir, dir_.path() + "/outside"})
            ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
        ASSERT_EQ(::symlink(rootfs_.c_str(), (piddir + "/root").c_str()), 0);
        ASSERT_EQ(::symlink((rootfs_ + "/app").c_str(), (piddir + "/cwd").c_str()), 0);
    }
    void write(const std::string& path, const std::string& data) {
        std::ofstream(path, std::ios::binary) << data;
    }
    StaticAgents hashed(std::initializer_list<std::string> args, uint64_t max = kMaxAgentHashBytes) {
        auto a = parse_static_agents(cmd(args));
        artifacts::ArtifactLimits l;
        l.max_hash_bytes = max;
        inspect_static_agents(proc_, kPid, a, l);
        return a;
    }
    TempDir dir_;
    std::string rootfs_, proc_;
};

TEST_F(StaticAgentsHash, AbsoluteAndRelativePathsAreHashedInsideTheRoot) {
    write(rootfs_ + "/opt/a.jar", "agent a");
    write(rootfs_ + "/app/b.jar", "agent b");
    write(rootfs_ + "/opt/libn.so", "native");
    auto a = hashed({"-javaagent:/opt/a.jar=x", "-javaagent:b.jar", "-javaagent:../opt/a.jar",
                     "-agentpath:/opt/libn.so", "-agentlib:jdwp=server=y", "M"});
    ASSERT_EQ(a.agents.size(), 5u);
    EXPECT_EQ(sha(a.agents[0]), policy::sha256_hex("agent a"));
    EXPECT_TRUE(a.agents[0].file.has_value());
    EXPECT_EQ(a.agents[0].file->size, 7u);
    EXPECT_EQ(why(a.agents[0]), "");
    EXPECT_EQ(sha(a.agents[1]), policy::sha256_hex("agent b"));   // against its cwd, /app
    EXPECT_EQ(sha(a.agents[2]), policy::sha256_hex("agent a"));
    EXPECT_EQ(sha(a.agents[3]), policy::sha256_hex("native"));
    EXPECT_EQ(sha(a.agents[4]), "");   // a library name: no file
    EXPECT_EQ(why(a.agents[4]), "");
    EXPECT_FALSE(a.agents[4].file.has_value());
}

TEST_F(StaticAgentsHash, LinksResolveInsideTheRootNeverOutOfIt) {
    write(dir_.path() + "/outside/secret.jar", "host file");
    write(rootfs_ + "/etc/in-root.jar", "in root");
    // Absolute and ".." links that would leave the root land inside it.
    ASSERT_EQ(::symlink((dir_.path() + "/outside/secret.jar").c_str(), (rootfs_ + "/opt/abs.jar").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../outside/secret.jar", (rootfs_ + "/opt/up.jar").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/in-root.jar", (rootfs_ + "/opt/in.jar").c_str()), 0);
    auto a = hashed({"-javaagent:/opt/abs.jar", "-javaagent:/opt/up.jar", "-javaagent:/opt/in.jar",
                     "-javaagent:/../../outside/secret.jar", "M"});
    ASSERT_EQ(a.agents.size(), 4u);
    for (size_t i : {0u, 1u, 3u}) {
        EXPECT_EQ(sha(a.agents[i]), "") << i;
        EXPECT_NE(why(a.agents[i]), "") << i;
    }
    EXPECT_EQ(sha(a.agents[2]), policy::sha256_hex("in root"));
}

TEST_F(StaticAgentsHash, FifosDirectoriesAndMissingFilesAreRecordedNotOpened) {
    ASSERT_EQ(::mkfifo((rootfs_ + "/opt/fifo.jar").c_str(), 0644), 0);
    ASSERT_EQ(::symlink("/opt/fifo.jar", (rootfs_ + "/opt/to-fifo.jar").c_str()), 0);
    ASSERT_EQ(::symlink("/dev/zero", (rootfs_ + "/opt/zero.jar").c_str()), 0);
    // Would block forever if opened for reading (no writer): must return at once.
    auto a = hashed({"-javaagent:/opt/fifo.jar", "-javaagent:/opt/to-fifo.jar", "-javaagent:/opt",
                     "-javaagent:/opt/none.jar", "-agentpath:/opt/zero.jar", "M"});
    ASSERT_EQ(a.agents.size(), 5u);
    for (const auto& s : a.agents) {
        EXPECT_EQ(sha(s), "") << s.path;
        EXPECT_NE(why(s), "") << s.path;
    }
    EXPECT_EQ(why(a.agents[0]), "a FIFO, not a regular file");
    EXPECT_EQ(why(a.agents[2]), "a directory, not a regular file");
    EXPECT_EQ(why(a.agents[3]), "No such file or directory");
}

TEST_F(StaticAgentsHash, LargeFilesGetASizeAndNoHashWithinTheBudget) {
    write(rootfs_ + "/opt/big.jar", std::string(5000, 'b'));
    write(rootfs_ + "/opt/small.jar", std::string(3000, 's'));
    write(rootfs_ + "/opt/small2.jar", std::string(3000, 't'));
    auto a = hashed({"-javaagent:/opt/big.jar", "-javaagent:/opt/small.jar", "-javaagent:/opt/small2.jar", "M"},
                    4096);
    ASSERT_EQ(a.agents.size(), 3u);
    EXPECT_EQ(sha(a.agents[0]), "");
    EXPECT_EQ(a.agents[0].file->size, 5000u);
    EXPECT_EQ(why(a.agents[0]), "too large to hash");
    EXPECT_EQ(sha(a.agents[1]), policy::sha256_hex(std::string(3000, 's')));
    EXPECT_EQ(sha(a.agents[2]), "");   // 3000 + 3000 > 4096: the budget is per JVM
    EXPECT_EQ(a.agents[2].file->size, 3000u);
    EXPECT_EQ(why(a.agents[2]), "hash budget spent");
}

TEST_F(StaticAgentsHash, RelativePathsNeedACwdInsideTheRoot) {
    write(rootfs_ + "/app/b.jar", "agent b");
    std::string cwd = proc_ + "/" + std::to_string(kPid) + "/cwd";
    ASSERT_EQ(::unlink(cwd.c_str()), 0);
    ASSERT_EQ(::symlink((dir_.path() + "/outside").c_str(), cwd.c_str()), 0);
    auto a = hashed({"-javaagent:b.jar", "M"});
    ASSERT_EQ(a.agents.size(), 1u);
    EXPECT_EQ(sha(a.agents[0]), "");
    EXPECT_EQ(why(a.agents[0]), "relative path: cwd outside its root");
    ASSERT_EQ(::unlink(cwd.c_str()), 0);
    a = hashed({"-javaagent:b.jar", "M"});
    EXPECT_EQ(why(a.agents[0]), "relative path: cwd unreadable");
}

TEST_F(StaticAgentsHash, AProcessWithoutARootLeavesEveryAgentUnhashed) {
    auto a = parse_static_agents(cmd({"-javaagent:/opt/a.jar", "M"}));
    inspect_static_agents(proc_, kPid + 1, a);
    ASSERT_EQ(a.agents.size(), 1u);
    EXPECT_EQ(sha(a.agents[0]), "");
    EXPECT_NE(why(a.agents[0]).find("root unreadable"), std::string::npos) << why(a.agents[0]);
}

// The enrichment worker reads a JVM's agents with the rest: here the test process stands for
// the JVM (its real /proc entry, its real root), with a java command line.
TEST(StaticAgentsEnrichment, TheWorkerHashesTheJvmsAgents) {
    TempDir dir;
    std::string jar = dir.file("a.jar");
    std::ofstream(jar) << "jar bytes";
    ProcSources src;
    src.inspect = [jar](pid_t pid) {
        jvm::JvmProcess p;
        p.pid = pid;
        p.kind = jvm::Kind::hotspot;
        p.user = "someone";
        p.cmdline = {"java", "-javaagent:" + jar + "=opt", "-agentlib:jdwp", "Main"};
        return std::optional<jvm::JvmProcess>(p);
    };
    src.read_process = [](pid_t) { return std::optional<ProcessInfo>(); };
    EnrichJob job;
    job.pid = getpid();
    job.want_jvm = true;
    EnrichResult r = make_proc_enrichment(src)(job);
    ASSERT_EQ(r.status, EnrichResult::Status::ok);
    ASSERT_TRUE(r.agents);
    ASSERT_EQ(r.agents->agents.size(), 2u);
    EXPECT_EQ(sha(r.agents->agents[0]), policy::sha256_hex("jar bytes"));
    EXPECT_EQ(r.agents->agents[0].options, "opt");
    EXPECT_EQ(r.agents->agents[1].kind, "lib");

    // Not a JVM: nothing of the kind is read.
    src.inspect = [](pid_t pid) {
        jvm::JvmProcess p;
        p.pid = pid;
        p.cmdline = {"java", "-javaagent:/x.jar", "Main"};
        return std::optional<jvm::JvmProcess>(p);
    };
    r = make_proc_enrichment(src)(job);
    EXPECT_EQ(r.status, EnrichResult::Status::not_jvm);
    EXPECT_FALSE(r.agents);
}

TEST(StaticAgentsJson, FieldsAreAbsentWhenUnknown) {
    StaticAgents a;
    StaticAgent java{"java", "/a.jar", "o", true, "JAVA_TOOL_OPTIONS", artifacts::AgentArtifact{}, ""};
    java.file->path = "/a.jar";
    java.file->found = true;
    java.file->resolved_in = "root";
    java.file->size = 5;
    java.file->uid = 1000;
    java.file->gid = 100;
    java.file->mode = 0644;
    java.file->mtime_ns = 1'000'000'001;
    java.file->sha256 = std::string(64, 'a');
    java.file->content = "jar";
    java.file->manifest.emplace();
    java.file->manifest->premain_class = "p.Agent";
    a.agents.push_back(java);
    a.agents.push_back({"lib", "jdwp", "", false, "cmdline", std::nullopt, ""});
    StaticAgent big{"native", "/x.so", "", false, "cmdline", artifacts::AgentArtifact{}, ""};
    big.file->path = "/x.so";
    big.file->why = "No such file or directory";
    a.agents.push_back(big);
    a.agents.push_back({"java", "", "", false, "cmdline", std::nullopt, "no path"});
    auto j = static_agents_json(a);
    ASSERT_EQ(j.size(), 4u);
    EXPECT_EQ(j[0], (nlohmann::json{{"kind", "java"}, {"path", "/a.jar"}, {"options", "o"},
                                    {"source", "JAVA_TOOL_OPTIONS"}, {"resolved_in", "root"},
                                    {"size", 5}, {"uid", 1000}, {"gid", 100}, {"mode", "0644"},
                                    {"mtime", "1970-01-01T00:00:01.000000001Z"},
                                    {"sha256", std::string(64, 'a')}, {"content", "jar"},
                                    {"manifest", {{"premain_class", "p.Agent"}}}}));
    EXPECT_EQ(j[1], (nlohmann::json{{"kind", "lib"}, {"path", "jdwp"}, {"source", "cmdline"}}));
    EXPECT_EQ(j[2], (nlohmann::json{{"kind", "native"}, {"path", "/x.so"}, {"source", "cmdline"},
                                    {"why", "No such file or directory"}}));
    EXPECT_EQ(j[3], (nlohmann::json{{"kind", "java"}, {"path", ""}, {"source", "cmdline"},
                                    {"why", "no path"}}));
}

TEST(StaticAgentsEnv, TheThreeVariablesInTheOrderTheJvmReadsThem) {
    std::vector<std::string> env = {
        "PATH=/bin", "_JAVA_OPTIONS=-agentlib:jdwp=server=y -Xmx1g",
        "JAVA_TOOL_OPTIONS=-Xss1m '-javaagent:/opt/a b.jar=x y' -agentpath:/lib/n.so",
        "JDK_JAVA_OPTIONS=-javaagent:/opt/launcher.jar", "XJAVA_TOOL_OPTIONS=-javaagent:/no.jar"};
    auto a = parse_static_agents(cmd({"-javaagent:/opt/c.jar", "Main", "-javaagent:/prog.jar"}), env);
    ASSERT_EQ(a.agents.size(), 5u);
    EXPECT_EQ(a.agents[0].path, "/opt/a b.jar");   // quotes group, as in JDK 9+
    EXPECT_EQ(a.agents[0].options, "x y");
    EXPECT_EQ(a.agents[0].source, "JAVA_TOOL_OPTIONS");
    EXPECT_EQ(a.agents[1].kind, "native");
    EXPECT_EQ(a.agents[1].source, "JAVA_TOOL_OPTIONS");
    EXPECT_EQ(a.agents[2].path, "/opt/launcher.jar");
    EXPECT_EQ(a.agents[2].source, "JDK_JAVA_OPTIONS");
    EXPECT_EQ(a.agents[3].path, "/opt/c.jar");
    EXPECT_EQ(a.agents[3].source, "cmdline");
    EXPECT_EQ(a.agents[4].path, "jdwp");
    EXPECT_EQ(a.agents[4].source, "_JAVA_OPTIONS");

    // JDK_JAVA_OPTIONS belongs to the java launcher: an embedding program does not read it.
    auto b = parse_static_agents({"/opt/app/bin/server", "-javaagent:/x.jar"}, env);
    for (const auto& s : b.agents) EXPECT_NE(s.source, "JDK_JAVA_OPTIONS") << s.path;
}

TEST(StaticAgentsEnv, AHugeVariableStillYieldsAtMostTheCap) {
    std::string v = "JAVA_TOOL_OPTIONS=";
    for (int i = 0; i < 20000; ++i) v += "-javaagent:/a" + std::to_string(i) + ".jar ";
    auto a = parse_static_agents(cmd({"-javaagent:/c.jar", "M"}), {v});
    EXPECT_EQ(a.agents.size(), kMaxStaticAgents);
    EXPECT_EQ(a.dropped, 20000 + 1 - kMaxStaticAgents);
    EXPECT_EQ(a.agents[0].path, "/a0.jar");
}

}  // namespace
}  // namespace jvmwatch::daemon
