// The JVMs the daemon tracks, counted by JDK major version and visibility, for the
// jvmwatch_jvms gauge.  A daemon::JvmListener: it hears each JVM's start (after
// enrichment) and exit under the processor's lock, and only updates a few counts there;
// a scrape copies the counts (snapshot()), never the JVMs.
// Bounded like the processor's JVM table (tables.max_jvms): when full, the oldest entry
// goes, as the table evicts its oldest JVM without telling listeners.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "userspace/daemon/jvm_listener.h"

namespace jvmwatch::metrics {

class JvmCensus : public daemon::JvmListener {
public:
    explicit JvmCensus(size_t capacity);

    void on_jvm_started(const jvm::JvmProcess& jvm, uint64_t exec_ts_ns, bool existing) override;
    void on_jvm_visibility(pid_t pid, uint64_t start_time_ticks, std::string_view visibility) override;
    void on_jvm_milestone(pid_t, uint64_t, int, uint64_t) override {}
    void on_jvm_exited(pid_t pid, uint64_t start_time_ticks) override;

    // (jdk_major, visibility) -> JVMs tracked now.  A major seen once stays (at 0).
    using Counts = std::map<std::pair<std::string, std::string>, int64_t>;
    Counts snapshot() const;
    size_t size() const;

private:
    struct Entry {
        uint64_t start_ticks;
        Counts::iterator count;
        std::list<pid_t>::iterator age;
    };
    void erase(std::unordered_map<pid_t, Entry>::iterator it);

    const size_t capacity_;
    mutable std::mutex mu_;
    Counts counts_;
    std::unordered_map<pid_t, Entry> jvms_;
    std::list<pid_t> order_;   // oldest first
};

}  // namespace jvmwatch::metrics
