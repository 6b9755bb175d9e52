// Parses the `inject:` section of jvmwatchd's YAML config into a checked Policy.  Every
// problem is reported as "FILE:LINE: reason" (line from yaml-cpp's Node::Mark()); any
// problem refuses the whole policy, so a reload with a bad file keeps the old one.
#pragma once

#include <sys/types.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "userspace/policy/policy.h"

namespace jvmwatch::policy {

struct ParseOptions {
    uid_t trusted_uid = 0;           // owner agent files and their directories must have
    bool check_agent_files = true;   // existence, ownership, modes, sha256 pin
};

// `inject` is the value of the top-level `inject:` key; a null/undefined node gives an
// empty policy (no rules).  Returns nullopt and fills *errors (one line each) on failure.
std::optional<Policy> parse_policy(const YAML::Node& inject, const std::string& file,
                                   std::vector<std::string>* errors,
                                   const ParseOptions& opts = {});

// One matcher (`match:` of an inject rule, `target:` of a deny rule) at `what`.
std::optional<Matcher> parse_matcher(const YAML::Node& n, const std::string& what,
                                     const std::string& file, std::vector<std::string>* errors);

// Loads FILE and parses its `inject:` key (other top-level keys are the daemon's).
// YAML syntax errors are reported as FILE:LINE: too.
std::optional<Policy> load_policy_file(const std::string& file, std::vector<std::string>* errors,
                                       const ParseOptions& opts = {});

}  // namespace jvmwatch::policy
