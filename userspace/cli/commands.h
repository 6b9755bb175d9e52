// The jvmwatch CLI's subcommands; each lives in its own file in userspace/cli/.
// Every command returns a process exit code as documented in README.md.
#pragma once

namespace jvmwatch::cli {

// Exit codes shared by all commands (README.md, "Exit codes").  A local failure never
// uses 0, 1 or 3, which carry what the JVM said.
enum Exit : int {
    kOk = 0,                      // the JVM (and agent) reported success
    kJvmError = 1,                // the JVM answered with a non-zero result code
    kUsage = 2,                   // bad command line: unknown op, bad pid, arg over limit
    kAgentError = 3,              // load: the agent returned non-zero
    kDynamicLoadingDisabled = 4,
    kAttachDisabled = 5,
    kNoSuchProcess = 6,
    kNotAJvm = 7,
    kPermissionDenied = 8,
    kTimedOut = 9,
    kTargetExited = 10,
    kProtocolError = 11,
    kUnsafe = 12,                 // refused: untrusted socket, or SIGQUIT would be unsafe
    kSystemError = 13,            // a local syscall failed; BPF unavailable; bad config
    kNoDaemon = 14,               // events/status: no daemon answers on the API socket
    kBadReply = 15,               // the daemon's reply was malformed, an error, or timed out
    kDenied = 16,                 // attach: connect() refused by a policy (EPERM, deny rule)
};

int cmd_attach(int argc, char** argv);
int cmd_ps(int argc, char** argv);
int cmd_doctor(int argc, char** argv);
int cmd_events(int argc, char** argv);
int cmd_status(int argc, char** argv);

}  // namespace jvmwatch::cli
