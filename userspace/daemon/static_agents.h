// The agents a JVM was started with: -javaagent:, -agentpath:, -agentlib: among its JVM
// options on the command line and in the JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS (the `java`
// launcher's) and _JAVA_OPTIONS environment variables, and for those given as a file, that
// file as the JVM sees it (artifacts/agent_artifact.h: inside its root, relative paths
// against its cwd, a FIFO or device never opened, hashed under a byte cap per JVM; owner,
// mode, mtime, a jar's manifest, an optional evidence copy).
// Runs on an enrichment worker only: the files belong to whoever started the JVM.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "userspace/artifacts/agent_artifact.h"

namespace jvmwatch::artifacts {
class EvidenceStore;
}

namespace jvmwatch::daemon {

struct StaticAgent {
    std::string kind;        // "java" (-javaagent), "native" (-agentpath), "lib" (-agentlib)
    std::string path;        // jar or library path as given; for "lib" the library name
    std::string options;     // after the first '=' (cut at kMaxAgentOptions)
    bool has_options = false;
    std::string source = "cmdline";   // or the environment variable it came from
    std::optional<artifacts::AgentArtifact> file;   // the file, once looked up
    std::string why;         // why the file was not looked up or hashed ("" otherwise)
};

struct StaticAgents {
    std::vector<StaticAgent> agents;
    uint64_t dropped = 0;    // agents beyond kMaxStaticAgents
};

constexpr size_t kMaxStaticAgents = 16;
constexpr size_t kMaxAgentOptions = 1024;
constexpr size_t kMaxAgentPath = 4096;
// Bytes hashed per JVM, in all (and so per file): the worker's time budget is shared.
constexpr uint64_t kMaxAgentHashBytes = 64ull << 20;

// The agent options of a java command line (cmdline[0] is the launcher), up to the main
// class or -jar: what follows belongs to the program.
StaticAgents parse_static_agents(const std::vector<std::string>& cmdline);
// The same plus the options environment variables, in the order the JVM reads them:
// JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS (only when cmdline[0] is the `java` launcher),
// the command line, _JAVA_OPTIONS.
StaticAgents parse_static_agents(const std::vector<std::string>& cmdline,
                                 const std::vector<std::string>& environ);

// Looks up each agent with a path as process PID sees it (<proc_root>/PID/root and /cwd):
// limits.max_hash_bytes is the budget for the whole JVM.  `evidence` may be null.
void inspect_static_agents(const std::string& proc_root, pid_t pid, StaticAgents& agents,
                           const artifacts::ArtifactLimits& limits = {},
                           artifacts::EvidenceStore* evidence = nullptr);

// The "jvm.agents" array of jvm.start (docs/events.md).
nlohmann::json static_agents_json(const StaticAgents& a);

}  // namespace jvmwatch::daemon
