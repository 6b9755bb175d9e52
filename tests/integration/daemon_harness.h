// Runs build/bin/jvmwatchd as a subprocess writing its audit stream to a temp file, and
// reads the stream back, validating every line against docs/events.schema.json.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/common/support.h"
#include "userspace/audit/json_schema.h"

namespace jvmwatch::test {

inline const audit::JsonSchema& stream_schema() {
    static const audit::JsonSchema schema = [] {
        std::string err;
        auto s = audit::JsonSchema::from_file(source_dir() + "/docs/events.schema.json", &err);
        if (!s) {
            ADD_FAILURE() << err;
            return *audit::JsonSchema::from_json(nlohmann::json::object(), &err);
        }
        return *s;
    }();
    return schema;
}

class Jvmwatchd {
public:
    explicit Jvmwatchd(std::vector<std::string> extra_args = {},
                       std::vector<std::string> env_extra = {}) {
        log_ = dir_.file("audit.log");
        Child::Spec s;
        s.argv = {bin_path("jvmwatchd"), "--audit-log", log_};
        // A private API socket (docs/api.md), unless the test chooses: tests and other
        // daemons on the host must not share /run/jvmwatch/api.sock.
        bool api_chosen = false;
        for (auto& a : extra_args) api_chosen |= a == "--api-socket" || a == "--no-api";
        if (!api_chosen) {
            s.argv.push_back("--api-socket");
            s.argv.push_back(dir_.file("api/api.sock"));
        }
        // Metrics on a free port unless the test says otherwise: parallel daemons (and a
        // packaged one on this host) must not fight over the default port.
        bool metrics_given = false;
        for (auto& a : extra_args) metrics_given = metrics_given || a == "--metrics-listen";
        if (!metrics_given) s.argv.insert(s.argv.end(), {"--metrics-listen", "127.0.0.1:0"});
        for (auto& a : extra_args) s.argv.push_back(a);
        s.env_extra = std::move(env_extra);
        child_ = std::make_unique<Child>(s);
    }
    ~Jvmwatchd() { stop(); }

    // Waits for the readiness event (daemon.start).
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
        return wait_for([](const nlohmann::json& e) { return e["type"] == "daemon.start"; }, timeout)
            .has_value();
    }

    // All events so far; each line is schema-checked once.
    std::vector<nlohmann::json> events() {
        std::ifstream in(log_);
        std::string line;
        std::vector<nlohmann::json> out;
        size_t n = 0;
        while (std::getline(in, line)) {
            // A last line without its newline is still being written: read it next time.
            if (in.eof()) break;
            if (line.empty()) continue;
            auto j = nlohmann::json::parse(line, nullptr, false);
            EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
            if (j.is_discarded()) continue;
            if (++n > validated_) {
                std::vector<std::string> errors;
                bool ok = stream_schema().validate(j, &errors);
                std::string why;
                for (auto& e : errors) why += "\n  " + e;
                EXPECT_TRUE(ok) << "event does not match the schema: " << line << why;
                validated_ = n;
            }
            out.push_back(std::move(j));
        }
        return out;
    }

    std::optional<nlohmann::json> wait_for(const std::function<bool(const nlohmann::json&)>& pred,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::optional<nlohmann::json> found;
        eventually([&] {
            for (auto& e : events())
                if (pred(e)) { found = e; return true; }
            return !child_->alive();
        }, timeout);
        return found;
    }

    // SIGTERM and wait; the exit status (nullopt if it had to be killed).
    std::optional<int> stop() {
        if (!child_) return status_;
        if (child_->alive()) {
            child_->kill(SIGTERM);
            status_ = child_->wait_exit(std::chrono::seconds(30));
        } else {
            status_ = child_->wait_exit(std::chrono::seconds(1));
        }
        output_ = child_->output();
        child_.reset();
        return status_;
    }
    std::string output() const { return child_ ? child_->output() : output_; }
    pid_t pid() const { return child_ ? child_->pid() : 0; }
    const std::string& log_path() const { return log_; }

private:
    TempDir dir_{"jvmwatchd-test"};
    std::string log_;
    std::unique_ptr<Child> child_;
    std::optional<int> status_;
    std::string output_;
    size_t validated_ = 0;
};

}  // namespace jvmwatch::test
