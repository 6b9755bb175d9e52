// What jvmwatch sees of one JVM: its attach traffic from inside ("jvm": uprobes on its
// JDK's libraries read each request and agent load) or only from the attacher's side
// ("client": trigger file, SIGQUIT, connect), with the reason.
#pragma once

#include <string>
#include <vector>

namespace jvmwatch::daemon {

struct JvmVisibility {
    std::string level = "client";     // "jvm" or "client"
    std::string why;                  // client: why the JVM side is not seen
    std::vector<std::string> probes;  // probe ids live on this JVM's libraries
};

}  // namespace jvmwatch::daemon
