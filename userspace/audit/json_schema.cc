#include "userspace/audit/json_schema.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace jvmwatch::audit {

namespace {

const std::set<std::string> kChecked = {"type", "required", "properties", "additionalProperties",
                                        "enum", "const", "items", "oneOf", "anyOf", "$ref",
                                        "minimum", "maximum", "minLength", "pattern"};
const std::set<std::string> kAnnotations = {"$schema", "$id", "title", "description", "$comment",
                                            "examples", "default", "$defs", "definitions",
                                            "format", "deprecated"};

// Every schema object reachable from `s` uses only supported keywords.
bool vet(const nlohmann::json& s, const std::string& where, std::string* error) {
    if (s.is_boolean()) return true;
    if (!s.is_object()) {
        *error = where + ": a schema must be an object or a boolean";
        return false;
    }
    for (auto it = s.begin(); it != s.end(); ++it) {
        const std::string& k = it.key();
        if (!kChecked.count(k) && !kAnnotations.count(k)) {
            *error = where + ": unsupported keyword \"" + k + "\"";
            return false;
        }
        if (k == "properties" || k == "$defs" || k == "definitions") {
            if (!it->is_object()) { *error = where + "/" + k + ": must be an object"; return false; }
            for (auto p = it->begin(); p != it->end(); ++p)
                if (!vet(*p, where + "/" + k + "/" + p.key(), error)) return false;
        } else if (k == "items" || k == "additionalProperties") {
            if (!vet(*it, where + "/" + k, error)) return false;
        } else if (k == "oneOf" || k == "anyOf") {
            if (!it->is_array() || it->empty()) { *error = where + "/" + k + ": must be a non-empty array"; return false; }
            for (size_t i = 0; i < it->size(); ++i)
                if (!vet((*it)[i], where + "/" + k + "/" + std::to_string(i), error)) return false;
        } else if (k == "pattern") {
            try { std::regex re(it->get<std::string>()); } catch (const std::exception&) {
                *error = where + "/pattern: not a valid regular expression";
                return false;
            }
        }
    }
    return true;
}

std::string type_of(const nlohmann::json& v) {
    switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "unknown";
    }
}

bool type_matches(const std::string& want, const nlohmann::json& v) {
    std::string got = type_of(v);
    if (want == got) return true;
    if (want == "number" && got == "integer") return true;
    if (want == "integer" && got == "number") {
        double d = v.get<double>();
        return d == static_cast<double>(static_cast<long long>(d));
    }
    return false;
}

std::string short_dump(const nlohmann::json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

std::optional<JsonSchema> JsonSchema::from_json(nlohmann::json schema, std::string* error) {
    std::string err;
    if (!vet(schema, "#", &err)) {
        if (error) *error = err;
        return std::nullopt;
    }
    return JsonSchema(std::move(schema));
}

std::optional<JsonSchema> JsonSchema::from_file(const std::string& path, std::string* error) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = "cannot read schema " + path;
        return std::nullopt;
    }
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) {
        if (error) *error = path + ": not valid JSON";
        return std::nullopt;
    }
    std::string err;
    auto s = from_json(std::move(j), &err);
    if (!s && error) *error = path + ": " + err;
    return s;
}

const nlohmann::json* JsonSchema::resolve_ref(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    try {
        const nlohmann::json& t = root_.at(nlohmann::json::json_pointer(ref.substr(1)));
        return &t;
    } catch (const std::exception&) {
        return nullptr;
    }
}

bool JsonSchema::validate(const nlohmann::json& instance, std::vector<std::string>* errors) const {
    std::vector<std::string> local;
    return check(root_, instance, "", errors ? errors : &local, 0);
}

bool JsonSchema::check(const nlohmann::json& s, const nlohmann::json& v, const std::string& where,
                       std::vector<std::string>* errors, int depth) const {
    const std::string at = where.empty() ? "/" : where;
    if (depth > 64) {
        errors->push_back(at + ": schema nesting too deep ($ref loop?)");
        return false;
    }
    if (s.is_boolean()) {
        if (!s.get<bool>()) errors->push_back(at + ": not allowed here");
        return s.get<bool>();
    }
    bool ok = true;
    auto fail = [&](const std::string& msg) { errors->push_back(at + ": " + msg); ok = false; };

    if (auto it = s.find("$ref"); it != s.end()) {
        const nlohmann::json* target = resolve_ref(it->get<std::string>());
        if (!target) fail("unresolvable $ref " + it->get<std::string>());
        else if (!check(*target, v, where, errors, depth + 1)) ok = false;
    }
    if (auto it = s.find("type"); it != s.end()) {
        bool any = false;
        if (it->is_string()) any = type_matches(it->get<std::string>(), v);
        else for (const auto& t : *it) any = any || type_matches(t.get<std::string>(), v);
        if (!any) {
            fail("expected " + (it->is_string() ? it->get<std::string>() : it->dump()) + ", got " +
                 type_of(v));
            return false;   // further checks would only repeat the type error
        }
    }
    if (auto it = s.find("const"); it != s.end() && *it != v)
        fail("expected " + short_dump(*it) + ", got " + short_dump(v));
    if (auto it = s.find("enum"); it != s.end()) {
        bool found = false;
        for (const auto& e : *it) found = found || e == v;
        if (!found) fail(short_dump(v) + " is not one of " + short_dump(*it));
    }
    if (v.is_number()) {
        if (auto it = s.find("minimum"); it != s.end() && v.get<double>() < it->get<double>())
            fail("below minimum " + it->dump());
        if (auto it = s.find("maximum"); it != s.end() && v.get<double>() > it->get<double>())
            fail("above maximum " + it->dump());
    }
    if (v.is_string()) {
        const auto& str = v.get_ref<const std::string&>();
        if (auto it = s.find("minLength"); it != s.end() && str.size() < it->get<size_t>())
            fail("shorter than " + it->dump());
        if (auto it = s.find("pattern"); it != s.end() &&
            !std::regex_search(str, std::regex(it->get<std::string>())))
            fail(short_dump(v) + " does not match " + it->get<std::string>());
    }
    if (v.is_object()) {
        if (auto it = s.find("required"); it != s.end())
            for (const auto& r : *it)
                if (!v.contains(r.get<std::string>())) fail("missing required \"" + r.get<std::string>() + "\"");
        const nlohmann::json* props = nullptr;
        if (auto it = s.find("properties"); it != s.end()) props = &*it;
        auto addl = s.find("additionalProperties");
        for (auto p = v.begin(); p != v.end(); ++p) {
            std::string child = where + "/" + p.key();
            if (props && props->contains(p.key())) {
                if (!check((*props)[p.key()], *p, child, errors, depth + 1)) ok = false;
            } else if (addl != s.end()) {
                if (addl->is_boolean() && !addl->get<bool>()) fail("unexpected property \"" + p.key() + "\"");
                else if (!addl->is_boolean() && !check(*addl, *p, child, errors, depth + 1)) ok = false;
            }
        }
    }
    if (v.is_array()) {
        if (auto it = s.find("items"); it != s.end())
            for (size_t i = 0; i < v.size(); ++i)
                if (!check(*it, v[i], where + "/" + std::to_string(i), errors, depth + 1)) ok = false;
    }
    for (const char* kw : {"oneOf", "anyOf"}) {
        auto it = s.find(kw);
        if (it == s.end()) continue;
        size_t matched = 0;
        std::vector<std::string> branch_errors;
        for (size_t i = 0; i < it->size(); ++i) {
            std::vector<std::string> e;
            if (check((*it)[i], v, where, &e, depth + 1)) ++matched;
            else for (auto& m : e) branch_errors.push_back("[" + std::string(kw) + " " + std::to_string(i) + "] " + m);
        }
        bool good = std::string(kw) == "oneOf" ? matched == 1 : matched >= 1;
        if (!good) {
            fail(std::string(kw) + ": " + std::to_string(matched) + " of " + std::to_string(it->size()) +
                 " branches match");
            // Show only the branches that got past their discriminating const, when any.
            for (auto& m : branch_errors)
                if (m.find("expected \"") == std::string::npos || matched) errors->push_back(m);
        }
    }
    return ok;
}

}  // namespace jvmwatch::audit
