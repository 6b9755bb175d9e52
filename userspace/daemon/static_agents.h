// The agents a JVM was started with (-javaagent:, -agentpath:, -agentlib: among its JVM
// options), and for those given as a file, that file's size and sha256 as the JVM sees it:
// resolved inside the JVM's root (safefs, in_root), relative paths against its cwd, opened
// O_PATH first (a FIFO or device is refused, never opened), hashed under a byte cap.
// Runs on an enrichment worker only: the files belong to whoever started the JVM.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jvmwatch::daemon {

struct StaticAgent {
    std::string kind;        // "java" (-javaagent), "native" (-agentpath), "lib" (-agentlib)
    std::string path;        // jar or library path as given; for "lib" the library name
    std::string options;     // after the first '=' (cut at kMaxAgentOptions)
    bool has_options = false;
    std::string sha256;      // lower-case hex; "" when not hashed
    bool size_known = false;
    uint64_t size = 0;
    std::string why;         // why there is no sha256 ("" when hashed, or for "lib")
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

// Fills sha256/size/why of each agent with a path, looking the files up as process PID
// sees them (<proc_root>/PID/root and /cwd).
void hash_static_agents(const std::string& proc_root, pid_t pid, StaticAgents& agents,
                        uint64_t max_bytes = kMaxAgentHashBytes);

// The "jvm.agents" array of jvm.start (docs/events.md).
nlohmann::json static_agents_json(const StaticAgents& a);

}  // namespace jvmwatch::daemon
