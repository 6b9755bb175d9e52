// The main section of a jar's META-INF/MANIFEST.MF, read from a file another user wrote.
//
// Read as the JVM's own agent loader reads it (libinstrument's JarFacade over the
// launcher's parse_manifest.c), so the classes reported are the ones that run: the first
// central directory entry named exactly "META-INF/MANIFEST.MF" (case-sensitive: a
// "meta-inf/manifest.mf" is not the agent's manifest there), offsets relative to the start
// of the zip data (content may be prepended), stored or deflated, the text up to a NUL;
// attribute names case-insensitive, the FIRST of a repeated name wins, values trimmed.
//
// Hostile input is the norm: the zip is read within bounds (zip_entry.h), the manifest
// inflated into at most max_manifest_bytes, each value cut at max_value bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jvmwatch::artifacts {

struct ManifestLimits {
    size_t max_manifest_bytes = 1u << 20;   // uncompressed
    size_t max_entries = 65536;             // central directory entries walked
    size_t max_value = 512;                 // bytes kept of each attribute value
};

// The attributes the JVM acts on for an agent, plus what names it (absent: not in the
// main section).
struct JarManifest {
    std::optional<std::string> agent_class;               // Agent-Class (dynamic load)
    std::optional<std::string> premain_class;             // Premain-Class (-javaagent)
    std::optional<std::string> launcher_agent_class;      // Launcher-Agent-Class (-jar)
    std::optional<std::string> can_retransform_classes;   // Can-Retransform-Classes
    std::optional<std::string> can_redefine_classes;      // Can-Redefine-Classes
    std::optional<std::string> boot_class_path;           // Boot-Class-Path
    std::optional<std::string> implementation_title;
    std::optional<std::string> implementation_version;
    std::optional<std::string> implementation_vendor;
    bool truncated = false;   // a value was longer than max_value (cut)
};

// Reads the manifest of the zip in `fd` (file_size bytes).  nullopt and *error (one
// line, e.g. "not a zip: no end of central directory") when there is none to read.
std::optional<JarManifest> read_jar_manifest(int fd, uint64_t file_size,
                                             const ManifestLimits& limits, std::string* error);

// Parses manifest text (the main section).  nullopt and *error on a malformed line, where
// the JVM's loader would refuse the jar.
std::optional<JarManifest> parse_manifest(std::string_view text, size_t max_value,
                                          std::string* error);

}  // namespace jvmwatch::artifacts
