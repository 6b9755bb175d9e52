// A validator for the subset of JSON Schema (draft 2020-12) that docs/events.schema.json
// uses: type, required, properties, additionalProperties, enum, const, items, oneOf,
// anyOf, $ref (local JSON pointers), minimum, maximum, minLength, pattern.  Any other
// keyword (except annotations such as title/description/format) is refused when the
// schema is loaded, so a schema can't silently ask for checks this validator skips.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace jvmwatch::audit {

class JsonSchema {
public:
    // nullopt and *error if the schema uses an unsupported keyword or is malformed.
    static std::optional<JsonSchema> from_json(nlohmann::json schema, std::string* error);
    static std::optional<JsonSchema> from_file(const std::string& path, std::string* error);

    // True if `instance` conforms; otherwise *errors gets one line per violation
    // ("/attacher/pid: expected integer, got string").
    bool validate(const nlohmann::json& instance, std::vector<std::string>* errors = nullptr) const;

private:
    explicit JsonSchema(nlohmann::json s) : root_(std::move(s)) {}
    bool check(const nlohmann::json& schema, const nlohmann::json& inst, const std::string& where,
               std::vector<std::string>* errors, int depth) const;
    const nlohmann::json* resolve_ref(const std::string& ref) const;
    nlohmann::json root_;
};

}  // namespace jvmwatch::audit
