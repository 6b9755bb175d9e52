#include "userspace/artifacts/jar_manifest.h"

#include <algorithm>

#include "userspace/artifacts/zip_entry.h"

namespace jvmwatch::artifacts {

namespace {

// Cut at `max` bytes, not inside a UTF-8 sequence.
std::string cut(std::string_view s, size_t max, bool* truncated) {
    if (s.size() <= max) return std::string(s);
    *truncated = true;
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return std::string(s.substr(0, n));
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
           });
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

}  // namespace

std::optional<JarManifest> parse_manifest(std::string_view text, size_t max_value,
                                          std::string* error) {
    // The loader reads a C string: a NUL ends the manifest.
    text = text.substr(0, text.find('\0'));
    JarManifest m;
    std::optional<std::string>* fields[] = {
        &m.agent_class, &m.premain_class, &m.launcher_agent_class, &m.can_retransform_classes,
        &m.can_redefine_classes, &m.boot_class_path, &m.implementation_title,
        &m.implementation_version, &m.implementation_vendor};
    static constexpr std::string_view names[] = {
        "Agent-Class", "Premain-Class", "Launcher-Agent-Class", "Can-Retransform-Classes",
        "Can-Redefine-Classes", "Boot-Class-Path", "Implementation-Title",
        "Implementation-Version", "Implementation-Vendor"};
    size_t pos = 0, line_no = 0;
    // Past the newline at `i` (CR LF, LF or CR).
    auto after_newline = [&](size_t i) {
        return i + (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n' ? 2 : 1);
    };
    // A header: name ": " value, newline, then any continuation lines (" " + more value).
    // The main section ends at an empty line or the end of the text.
    while (pos < text.size() && text[pos] != '\n' && text[pos] != '\r') {
        ++line_no;
        size_t nl = text.find_first_of("\r\n", pos);
        std::string header(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        pos = nl == std::string_view::npos ? text.size() : after_newline(nl);
        while (nl != std::string_view::npos && pos < text.size() && text[pos] == ' ') {
            ++line_no;
            nl = text.find_first_of("\r\n", pos + 1);
            if (nl == std::string_view::npos) {
                *error = "manifest line " + std::to_string(line_no) + ": continuation without a newline";
                return std::nullopt;
            }
            // Bounded: the whole text is at most the manifest cap.
            header.append(text.substr(pos + 1, nl - pos - 1));
            pos = after_newline(nl);
        }
        size_t colon = header.find(':');
        if (colon == std::string::npos || colon + 1 >= header.size() || header[colon + 1] != ' ') {
            *error = "manifest line " + std::to_string(line_no) + ": not \"Name: value\"";
            return std::nullopt;
        }
        std::string_view name(header.data(), colon);
        std::string_view value = trim(std::string_view(header).substr(colon + 2));
        for (size_t i = 0; i < std::size(names); ++i)
            if (!*fields[i] && iequals(name, names[i]))   // the first one is what the loader uses
                *fields[i] = cut(value, max_value, &m.truncated);
    }
    return m;
}

std::optional<JarManifest> read_jar_manifest(int fd, uint64_t file_size,
                                             const ManifestLimits& limits, std::string* error) {
    ZipLimits zl;
    zl.max_entry_bytes = limits.max_manifest_bytes;
    zl.max_entries = limits.max_entries;
    auto text = read_zip_entry(fd, file_size, "META-INF/MANIFEST.MF", "manifest", zl, error);
    if (!text) return std::nullopt;
    return parse_manifest(*text, limits.max_value, error);
}

}  // namespace jvmwatch::artifacts
