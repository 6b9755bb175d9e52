// jvmwatchd's YAML config: embedded default, unknown keys and bad values refused with
// file:line, the inject: section handed to the injector's hook.
#include <gtest/gtest.h>

#include "userspace/daemon/daemon_config.h"

using namespace jvmwatch::daemon;

TEST(DaemonConfig, EmbeddedDefaultParses) {
    std::string err;
    auto c = parse_daemon_config(kDefaultConfigYaml, kDefaultConfigName, {}, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->audit.log, "");
    EXPECT_FALSE(c->observer.deep);
    EXPECT_EQ(c->correlation.sigquit_window_ms, 2000u);
    EXPECT_EQ(c->audit.rotate_keep, 5u);
    EXPECT_TRUE(c->inject.IsNull() || !c->inject.IsDefined());
}

TEST(DaemonConfig, ValuesAreRead) {
    std::string err;
    auto c = parse_daemon_config("audit:\n  log: /var/log/x.log\n  rotate_bytes: 1000\nobserver:\n  deep: true\n",
                                 "f.yaml", {}, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->audit.log, "/var/log/x.log");
    EXPECT_EQ(c->audit.rotate_bytes, 1000u);
    EXPECT_TRUE(c->observer.deep);
}

TEST(DaemonConfig, UnknownKeysAreRefusedWithFileAndLine) {
    std::string err;
    EXPECT_FALSE(parse_daemon_config("audit:\n  log: x\n  fsync_everyy: 3\n", "/etc/jw.yaml", {}, &err));
    EXPECT_EQ(err, "/etc/jw.yaml:3: unknown key \"audit.fsync_everyy\"");
    EXPECT_FALSE(parse_daemon_config("audit: {}\nobserverr:\n  deep: true\n", "c.yaml", {}, &err));
    EXPECT_EQ(err, "c.yaml:2: unknown key \"observerr\"");
}

TEST(DaemonConfig, BadValuesAreRefused) {
    std::string err;
    EXPECT_FALSE(parse_daemon_config("observer:\n  deep: maybe\n", "c.yaml", {}, &err));
    EXPECT_EQ(err, "c.yaml:2: observer.deep: expected true or false");
    EXPECT_FALSE(parse_daemon_config("audit:\n  rotate_keep: -1\n", "c.yaml", {}, &err));
    EXPECT_EQ(err, "c.yaml:2: audit.rotate_keep: expected a non-negative integer");
    EXPECT_FALSE(parse_daemon_config("audit:\n  rotate_keep: 0\n", "c.yaml", {}, &err));
    EXPECT_NE(err.find("rotate_keep"), std::string::npos);
    EXPECT_FALSE(parse_daemon_config("observer:\n  ringbuf_bytes: 5000\n", "c.yaml", {}, &err));
    EXPECT_NE(err.find("power of two"), std::string::npos);
    EXPECT_FALSE(parse_daemon_config("audit: [1, 2]\n", "c.yaml", {}, &err));
    EXPECT_EQ(err, "c.yaml:1: audit: expected a mapping");
    EXPECT_FALSE(parse_daemon_config("audit:\n  log: [\n", "c.yaml", {}, &err));
    EXPECT_EQ(err.rfind("c.yaml:", 0), 0u);
}

TEST(DaemonConfig, InjectSectionGoesToTheHookWithFileName) {
    std::string seen_file;
    int seen_line = -1;
    InjectConfigHook hook = [&](const YAML::Node& n, const std::string& file, std::string* e) {
        seen_file = file;
        seen_line = n.Mark().line + 1;
        if (n["rules"] && n["rules"].IsSequence() && n["rules"].size() == 0) {
            *e = file + ":" + std::to_string(seen_line) + ": inject.rules: empty";
            return false;
        }
        return true;
    };
    std::string err;
    auto c = parse_daemon_config("audit: {}\ninject:\n  anything: [1, 2]\n", "p.yaml", hook, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(seen_file, "p.yaml");
    EXPECT_EQ(seen_line, 3);
    EXPECT_TRUE(c->inject["anything"]);
    EXPECT_FALSE(parse_daemon_config("inject:\n  rules: []\n", "p.yaml", hook, &err));
    EXPECT_EQ(err, "p.yaml:2: inject.rules: empty");
    // Without a hook nothing under inject: is refused.
    EXPECT_TRUE(parse_daemon_config("inject:\n  whatever: 1\n", "p.yaml", {}, &err));
}

TEST(DaemonConfig, EnrichmentSection) {
    std::string err;
    auto c = parse_daemon_config("enrichment:\n  workers: 4\n  queue_size: 10\n  budget_ms: 500\n  max_abandoned: 3\n",
                                 "f.yaml", nullptr, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->enrichment.workers, 4u);
    EXPECT_EQ(c->enrichment.queue_size, 10u);
    EXPECT_EQ(c->enrichment.budget_ms, 500u);
    EXPECT_EQ(c->enrichment.max_abandoned, 3u);
    auto d = parse_daemon_config(kDefaultConfigYaml, kDefaultConfigName, nullptr, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_EQ(d->enrichment.workers, 2u);
    EXPECT_EQ(d->enrichment.budget_ms, 2000u);
    EXPECT_FALSE(parse_daemon_config("enrichment:\n  workers: 0\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: enrichment.workers: must be between 1 and 64");
    EXPECT_FALSE(parse_daemon_config("enrichment:\n  queue_size: 8\n  budget_ms: 1\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:3: enrichment.budget_ms: must be between 10 and 600000");
    EXPECT_FALSE(parse_daemon_config("enrichment:\n  threads: 2\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: unknown key \"enrichment.threads\"");
}

namespace jvmwatch::daemon {
namespace {

TEST(DaemonConfig, ApiSection) {
    std::string err;
    auto d = parse_daemon_config(kDefaultConfigYaml, kDefaultConfigName, nullptr, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_TRUE(d->api.enabled);
    EXPECT_EQ(d->api.socket, "/run/jvmwatch/api.sock");
    EXPECT_EQ(d->api.events_ring, 10000u);
    EXPECT_EQ(d->api.max_clients, 16u);
    auto c = parse_daemon_config("api:\n  enabled: false\n  socket: /x/y.sock\n  events_ring: 5\n  max_clients: 2\n",
                                 "f.yaml", nullptr, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_FALSE(c->api.enabled);
    EXPECT_EQ(c->api.socket, "/x/y.sock");
    EXPECT_EQ(c->api.events_ring, 5u);
    EXPECT_EQ(c->api.max_clients, 2u);
    EXPECT_FALSE(parse_daemon_config("api:\n  socket: relative.sock\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: api.socket: must be an absolute path of at most 107 bytes");
    EXPECT_FALSE(parse_daemon_config("api:\n  socket: /" + std::string(200, 'a') + "\n", "f.yaml", nullptr, &err));
    EXPECT_FALSE(parse_daemon_config("api:\n  events_ring: 0\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: api.events_ring: must be between 1 and 1000000");
    EXPECT_FALSE(parse_daemon_config("api:\n  max_clients: 1000\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: api.max_clients: must be between 1 and 256");
    EXPECT_FALSE(parse_daemon_config("api:\n  port: 80\n", "f.yaml", nullptr, &err));
    EXPECT_EQ(err, "f.yaml:2: unknown key \"api.port\"");
}

}  // namespace
}  // namespace jvmwatch::daemon

TEST(DaemonConfig, ArtifactsSection) {
    std::string err;
    auto d = parse_daemon_config(kDefaultConfigYaml, kDefaultConfigName, nullptr, &err);
    ASSERT_TRUE(d) << err;
    EXPECT_FALSE(d->artifacts.evidence);
    EXPECT_EQ(d->artifacts.evidence_dir, "/var/lib/jvmwatch/evidence");
    EXPECT_EQ(d->artifacts.evidence_max_bytes, 256ull << 20);
    EXPECT_EQ(d->artifacts.evidence_max_files, 1024u);
    EXPECT_EQ(d->artifacts.max_hash_bytes, 64ull << 20);
    auto c = parse_daemon_config("artifacts:\n  evidence: true\n  evidence_dir: /srv/ev\n"
                                 "  evidence_max_bytes: 1000\n  evidence_max_files: 3\n  max_hash_bytes: 4096\n",
                                 "a.yaml", nullptr, &err);
    ASSERT_TRUE(c) << err;
    EXPECT_TRUE(c->artifacts.evidence);
    EXPECT_EQ(c->artifacts.evidence_dir, "/srv/ev");
    EXPECT_EQ(c->artifacts.evidence_max_bytes, 1000u);
    EXPECT_EQ(c->artifacts.evidence_max_files, 3u);
    EXPECT_EQ(c->artifacts.max_hash_bytes, 4096u);
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  evidence: yes please\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:2: artifacts.evidence: expected true or false");
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  evidence_dir: rel/dir\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:2: artifacts.evidence_dir: must be an absolute path (not /) of at most 4095 bytes");
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  evidence_dir: /\n", "a.yaml", nullptr, &err));
    EXPECT_FALSE(parse_daemon_config("artifacts:\n\n  evidence_max_files: 0\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:3: artifacts.evidence_max_files: must be between 1 and 100000");
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  evidence_max_bytes: -5\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:2: artifacts.evidence_max_bytes: expected a non-negative integer");
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  max_hash_bytes: 0\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:2: artifacts.max_hash_bytes: must be between 1 and 4294967296");
    EXPECT_FALSE(parse_daemon_config("artifacts:\n  evidence_store: x\n", "a.yaml", nullptr, &err));
    EXPECT_EQ(err, "a.yaml:2: unknown key \"artifacts.evidence_store\"");
}
