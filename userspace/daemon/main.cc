// jvmwatchd: watches JVMs with eBPF and writes the audit stream (docs/daemon.md).
#include <cxxopts.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "userspace/cli/printable.h"
#include "userspace/common/build_info.h"
#include "userspace/daemon/daemon_config.h"
#include "userspace/daemon/daemon_hooks.h"
#include "userspace/daemon/daemon_runner.h"
#include "userspace/inject/daemon_plugin.h"

using namespace jvmwatch::daemon;

int main(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("jvmwatchd"));
    spdlog::set_pattern("jvmwatchd: %^%l%$: %v");

    cxxopts::Options cli("jvmwatchd", "Watches JVMs with eBPF and writes an audit stream (JSON Lines, "
                                      "or one text line per event with --output text).");
    cli.add_options()
        ("config", "YAML config file (default: the embedded config)", cxxopts::value<std::string>())
        ("deep", "deep mode: trigger files and attach request/reply bytes (slows syscalls)")
        ("audit-log", "append the stream to this file instead of stdout", cxxopts::value<std::string>())
        ("output", "form of the stream on stdout: json (JSON Lines, the default) or text (one short "
                   "line per event, for people); a file named by --audit-log/audit.log is always JSON",
         cxxopts::value<std::string>())
        ("api-socket", "serve the local API (jvmwatch ps/events/status) on this socket "
                       "(overrides api.socket and enables it)", cxxopts::value<std::string>())
        ("no-api", "do not serve the local API (overrides api.enabled)")
        ("stats-interval", "seconds between stats events (overrides the config)", cxxopts::value<unsigned>())
        ("metrics-listen", "serve Prometheus metrics on IPV4:PORT (port 0: any free port, said in "
                           "daemon.start), or `off`; overrides metrics: in the config",
         cxxopts::value<std::string>())
        ("record-raw", "debug: also append raw kernel events as JSON lines to FILE", cxxopts::value<std::string>())
        ("print-default-config", "print the embedded default config and exit")
        ("v,verbose", "debug logging")
        ("version", "print `jvmwatchd VERSION` (and the git commit it was built from) and exit")
        ("h,help", "this help");
    cxxopts::ParseResult args;
    try {
        args = cli.parse(argc, argv);
        if (!args.unmatched().empty()) throw std::runtime_error("unexpected argument " + args.unmatched()[0]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jvmwatchd: %s (see --help)\n", e.what());
        return kDaemonUsage;
    }
    if (args.count("help")) {
        std::cout << cli.help() << "\nExit codes: 0 stopped by SIGTERM/SIGINT, 2 bad command line, "
                                   "13 bad config / BPF unavailable / audit log unwritable / metrics address unusable.\n";
        return kDaemonOk;
    }
    if (args.count("version")) {
        std::cout << jvmwatch::version_line("jvmwatchd") << "\n";
        return kDaemonOk;
    }
    auto output = jvmwatch::audit::OutputFormat::json;
    if (args.count("output")) {
        std::string o = args["output"].as<std::string>();
        if (o == "text") {
            output = jvmwatch::audit::OutputFormat::text;
        } else if (o != "json") {
            std::fprintf(stderr, "jvmwatchd: --output: expected json or text, not '%s' (see --help)\n",
                         jvmwatch::cli::printable(o).c_str());
            return kDaemonUsage;
        }
    }
    std::optional<std::string> metrics_listen;
    if (args.count("metrics-listen")) {
        metrics_listen = args["metrics-listen"].as<std::string>();
        if (*metrics_listen != "off" && !parse_metrics_listen(*metrics_listen)) {
            std::fprintf(stderr, "jvmwatchd: --metrics-listen: expected IPV4:PORT (e.g. 127.0.0.1:9469) "
                                 "or off, not '%s' (see --help)\n",
                         jvmwatch::cli::printable(*metrics_listen).c_str());
            return kDaemonUsage;
        }
    }
    if (args.count("print-default-config")) {
        std::cout << kDefaultConfigYaml;
        return kDaemonOk;
    }
    if (args.count("verbose")) spdlog::set_level(spdlog::level::debug);

    RunOptions ro;
    std::string err;
    std::optional<DaemonConfig> cfg;
    auto& hooks = daemon_hooks();
    jvmwatch::inject::install_daemon_hooks(hooks);  // the auto-attach injector (issue 4)
    if (args.count("config")) {
        ro.config_path = args["config"].as<std::string>();
        ro.config_source = ro.config_path;
        cfg = load_daemon_config(ro.config_path, hooks.parse_inject, &err);
    } else {
        ro.config_source = kDefaultConfigName;
        cfg = parse_daemon_config(kDefaultConfigYaml, kDefaultConfigName, hooks.parse_inject, &err);
    }
    if (!cfg) {
        spdlog::error("{}", err);
        return kDaemonSystemError;
    }
    if (args.count("deep")) cfg->observer.deep = true;
    if (args.count("audit-log")) cfg->audit.log = args["audit-log"].as<std::string>();
    if (args.count("stats-interval")) cfg->audit.stats_interval_s = args["stats-interval"].as<unsigned>();
    if (args.count("api-socket")) {
        cfg->api.socket = args["api-socket"].as<std::string>();
        cfg->api.enabled = true;
        if (cfg->api.socket.empty() || cfg->api.socket[0] != '/' || cfg->api.socket.size() > 107) {
            std::fprintf(stderr, "jvmwatchd: --api-socket: expected an absolute path of at most 107 bytes\n");
            return kDaemonUsage;
        }
    }
    if (args.count("no-api")) cfg->api.enabled = false;
    if (metrics_listen) {
        cfg->metrics.enabled = *metrics_listen != "off";
        if (cfg->metrics.enabled) cfg->metrics.listen = *metrics_listen;
    }
    if (args.count("record-raw")) ro.record_raw = args["record-raw"].as<std::string>();
    ro.output = output;
    if (output == jvmwatch::audit::OutputFormat::text && !cfg->audit.log.empty() && cfg->audit.log != "-")
        spdlog::warn("--output text applies to stdout; the audit log {} stays JSON Lines",
                     jvmwatch::cli::printable(cfg->audit.log));
    ro.config = std::move(*cfg);

    block_daemon_signals();   // before any thread starts, so only sigtimedwait sees them
    return run_daemon(ro);
}
