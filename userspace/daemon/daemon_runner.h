// jvmwatchd's lifetime: sink, observer, event processor, the /proc scan, the readiness
// event, periodic stats, signals (SIGTERM/SIGINT stop, SIGHUP reload) and a clean stop
// (links detached, open correlations finalised, final stats, daemon.stop, fsync).
#pragma once

#include <string>

#include "userspace/audit/async_event_sink.h"
#include "userspace/daemon/daemon_config.h"

namespace jvmwatch::daemon {

// Exit codes of jvmwatchd (docs/daemon.md).
enum DaemonExit : int {
    kDaemonOk = 0,          // stopped by SIGTERM/SIGINT
    kDaemonUsage = 2,       // bad command line
    kDaemonSystemError = 13 // bad config, BPF unavailable, audit log unwritable, metrics port
                            // unusable
};

struct RunOptions {
    DaemonConfig config;
    std::string config_source;       // file path or "<embedded default>"
    std::string config_path;         // "" when embedded (SIGHUP then reloads nothing)
    std::string proc_root = "/proc";
    // Debug: also append every raw observer event as JSON (raw_event_json.h) to this file.
    // Written on the consumer thread: for recording fixtures, not for production.
    std::string record_raw;
    // --output: the stream's form on stdout (a file named by audit.log stays JSON).
    audit::OutputFormat output = audit::OutputFormat::json;
};

// Runs until SIGTERM/SIGINT.  The caller must have blocked SIGTERM, SIGINT and SIGHUP in
// every thread (block_daemon_signals() before starting any thread).
int run_daemon(const RunOptions& opts);
void block_daemon_signals();

}  // namespace jvmwatch::daemon
