// The jar manifest reader: real jars (the JDK's `jar` tool), stored and deflated entries,
// the manifest syntax as the JVM's agent loader reads it, and hostile zips (truncated,
// lying headers, 100k entries, a 4 GiB claim, a real deflate bomb, zip64).
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "attach/safe_fs.h"
#include "tests/common/support.h"
#include "tests/unit/zip_test_image.h"
#include "userspace/artifacts/jar_manifest.h"
#include "userspace/artifacts/zip_entry.h"

namespace jvmwatch::artifacts {
namespace {

using test::build_zip;
using test::ZipEntry;

safefs::UniqueFd memfile(const std::string& bytes) {
    safefs::UniqueFd fd(memfd_create("zip", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
}

std::optional<JarManifest> read(const std::string& bytes, std::string* err, ManifestLimits l = {}) {
    auto fd = memfile(bytes);
    return read_jar_manifest(fd.get(), bytes.size(), l, err);
}

const std::string kAgentMf =
    "Manifest-Version: 1.0\r\n"
    "Premain-Class: com.example.Premain\r\n"
    "Agent-Class: com.example.Agent\r\n"
    "Launcher-Agent-Class: com.example.Launcher\r\n"
    "Can-Retransform-Classes: true\r\n"
    "Can-Redefine-Classes: false\r\n"
    "Boot-Class-Path: a.jar b.jar\r\n"
    "Implementation-Title: Example\r\n"
    "Implementation-Version: 1.2.3\r\n"
    "Implementation-Vendor: Example Corp\r\n"
    "\r\n"
    "Name: com/example/\r\n"
    "Premain-Class: not.the.main.Section\r\n";

void expect_all_fields(const JarManifest& m) {
    EXPECT_EQ(m.premain_class, "com.example.Premain");
    EXPECT_EQ(m.agent_class, "com.example.Agent");
    EXPECT_EQ(m.launcher_agent_class, "com.example.Launcher");
    EXPECT_EQ(m.can_retransform_classes, "true");
    EXPECT_EQ(m.can_redefine_classes, "false");
    EXPECT_EQ(m.boot_class_path, "a.jar b.jar");
    EXPECT_EQ(m.implementation_title, "Example");
    EXPECT_EQ(m.implementation_version, "1.2.3");
    EXPECT_EQ(m.implementation_vendor, "Example Corp");
    EXPECT_FALSE(m.truncated);
}

TEST(JarManifest, StoredAndDeflatedEntriesGiveTheMainSection) {
    for (bool deflate : {false, true}) {
        auto z = build_zip({{"META-INF/", ""}, {"META-INF/MANIFEST.MF", kAgentMf, deflate},
                            {"com/example/Agent.class", std::string(5000, 'c'), true}});
        std::string err;
        auto m = read(z.bytes, &err);
        ASSERT_TRUE(m) << err;
        expect_all_fields(*m);
    }
}

TEST(JarManifest, AJarBuiltByTheJdkJarTool) {
    test::TempDir dir;
    // `jar` wraps lines at 72 bytes (and refuses input lines over 512): this value comes back as continuation lines.
    std::string long_path;
    for (int i = 0; i < 10; ++i) long_path += "lib/dependency-number-" + std::to_string(i) + ".jar ";
    long_path.pop_back();
    std::ofstream(dir.file("m.mf")) << "Premain-Class: jw.test.Premain\nAgent-Class: jw.test.Agent\n"
                                    << "Boot-Class-Path: " << long_path << "\n"
                                    << "Implementation-Vendor: Test Vendor\n";
    std::ofstream(dir.file("x.txt")) << std::string(3000, 'x');
    std::string cmd = "cd " + dir.path() + " && jar cfm a.jar m.mf x.txt >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "no working jar tool";
    std::ifstream in(dir.file("a.jar"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string err;
    auto m = read(bytes, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(m->premain_class, "jw.test.Premain");
    EXPECT_EQ(m->agent_class, "jw.test.Agent");
    EXPECT_EQ(m->boot_class_path, long_path);
    EXPECT_EQ(m->implementation_vendor, "Test Vendor");
    EXPECT_FALSE(m->launcher_agent_class);
}

TEST(JarManifestText, ContinuationLinesAndEveryLineEnding) {
    for (std::string nl : {"\n", "\r\n", "\r"}) {
        std::string t = "Premain-Class: com.exa" + nl + " mple.Pre" + nl + " main" + nl +
                        "Agent-Class: A" + nl + nl + "Agent-Class: in.another.Section" + nl;
        std::string err;
        auto m = parse_manifest(t, 512, &err);
        ASSERT_TRUE(m) << err;
        EXPECT_EQ(m->premain_class, "com.example.Premain");
        EXPECT_EQ(m->agent_class, "A");
    }
    // The last line may lack its newline; a continuation may not.
    std::string err;
    auto m = parse_manifest("Agent-Class: A", 512, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(m->agent_class, "A");
    EXPECT_FALSE(parse_manifest("Agent-Class: A\n more", 512, &err));
    EXPECT_NE(err.find("continuation"), std::string::npos) << err;
}

TEST(JarManifestText, AsTheAgentLoaderReadsIt) {
    std::string err;
    // Names are case-insensitive; the first of a repeated name is the one loaded; values
    // are trimmed; a NUL ends the text.
    auto m = parse_manifest("premain-CLASS:   first.One  \nPremain-Class: second.One\n"
                            "Agent-Class: a.B\0Boot-Class-Path: hidden.jar\n", 512, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(m->premain_class, "first.One");
    EXPECT_EQ(m->agent_class, "a.B");
    // (the literal above stops at its NUL; check one past it explicitly)
    std::string with_nul = std::string("Agent-Class: a.B\n", 17) + '\0' + "Boot-Class-Path: hidden.jar\n";
    m = parse_manifest(with_nul, 512, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_FALSE(m->boot_class_path);
    // Malformed lines make the loader refuse the jar: said so, with the line.
    EXPECT_FALSE(parse_manifest("Agent-Class: a\nno colon here\n", 512, &err));
    EXPECT_EQ(err, "manifest line 2: not \"Name: value\"");
    EXPECT_FALSE(parse_manifest("Agent-Class:a\n", 512, &err));
    // An empty manifest or an empty main section is not an error: nothing is set.
    m = parse_manifest("", 512, &err);
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->agent_class);
    m = parse_manifest("\nAgent-Class: x\n", 512, &err);
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->agent_class);
}

TEST(JarManifestText, ValuesAreCutAtTheCap) {
    std::string err;
    std::string v = std::string(510, 'v') + "\xc3\xa9\xc3\xa9";   // a character across the cut
    auto m = parse_manifest("Agent-Class: " + v + "\n", 511, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(*m->agent_class, std::string(510, 'v'));
    EXPECT_TRUE(m->truncated);
}

TEST(JarManifest, MissingOrMisnamedManifest) {
    std::string err;
    EXPECT_FALSE(read(build_zip({{"a.class", "x"}}).bytes, &err));
    EXPECT_EQ(err, "no META-INF/MANIFEST.MF");
    // The agent loader compares the name exactly: another case is not the manifest.
    EXPECT_FALSE(read(build_zip({{"meta-inf/manifest.mf", kAgentMf}}).bytes, &err));
    EXPECT_EQ(err, "no META-INF/MANIFEST.MF");
    // The first entry of the name is the one loaded.
    auto m = read(build_zip({{"META-INF/MANIFEST.MF", "Agent-Class: first\n"},
                             {"META-INF/MANIFEST.MF", "Agent-Class: second\n"}}).bytes, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(m->agent_class, "first");
}

TEST(JarManifest, PrependedDataAndACommentAreAllowed) {
    auto z = build_zip({{"META-INF/MANIFEST.MF", kAgentMf, true}}, std::string(4096, '#'), "a comment");
    std::string err;
    auto m = read(z.bytes, &err);
    ASSERT_TRUE(m) << err;
    expect_all_fields(*m);
}

TEST(JarManifest, NotAZip) {
    std::string err;
    for (std::string bytes : {std::string(), std::string("PK"), std::string(100000, 'x'),
                              std::string("\x7f" "ELF") + std::string(200, '\0')}) {
        EXPECT_FALSE(read(bytes, &err));
        EXPECT_EQ(err, "not a zip: no end of central directory");
    }
    // An end record beyond the last 64 KiB + 22 bytes is not looked for.
    auto z = build_zip({{"META-INF/MANIFEST.MF", kAgentMf}});
    EXPECT_FALSE(read(z.bytes + std::string(70000, '\0'), &err));
    EXPECT_EQ(err, "not a zip: no end of central directory");
}

TEST(JarManifest, EveryTruncationFailsCleanly) {
    auto z = build_zip({{"META-INF/", ""}, {"META-INF/MANIFEST.MF", kAgentMf, true}, {"b", "bbbb"}});
    for (size_t n = 0; n < z.bytes.size(); ++n) {
        std::string err;
        auto m = read(z.bytes.substr(0, n), &err);
        EXPECT_FALSE(m) << n;
        EXPECT_FALSE(err.empty()) << n;
    }
}

TEST(JarManifest, LyingHeadersAreCaught) {
    std::string err;
    auto z = build_zip({{"META-INF/MANIFEST.MF", kAgentMf}});
    // Central directory size larger than what precedes the end record.
    std::string b = z.bytes;
    b[z.end_offset + 12] = '\xff';
    b[z.end_offset + 13] = '\xff';
    b[z.end_offset + 14] = '\x00';
    EXPECT_FALSE(read(b, &err));
    EXPECT_EQ(err, "corrupt zip: central directory outside the file");
    // A local header offset past the end.
    b = z.bytes;
    b[z.cen_offset + 42 + 3] = '\x7f';
    EXPECT_FALSE(read(b, &err));
    EXPECT_EQ(err, "corrupt zip: no local header for the manifest");
    // A compressed size past the end.
    auto big = build_zip({{"META-INF/MANIFEST.MF", kAgentMf, false, -1, 0x7fffffff}});
    EXPECT_FALSE(read(big.bytes, &err));
    EXPECT_EQ(err, "corrupt zip: manifest data outside the file");
    // A name length running past the central directory.
    b = z.bytes;
    b[z.cen_offset + 28] = '\xff';
    b[z.cen_offset + 29] = '\xff';
    EXPECT_FALSE(read(b, &err));
    EXPECT_EQ(err, "corrupt zip: central directory entry runs past its end");
    // Deflate data that is not deflate.
    auto junk = build_zip({{"META-INF/MANIFEST.MF", std::string(64, '\xff'), false, -1, -1, 8}});
    EXPECT_FALSE(read(junk.bytes, &err));
    EXPECT_EQ(err, "manifest: corrupt deflate data");
    auto bz = build_zip({{"META-INF/MANIFEST.MF", kAgentMf, false, -1, -1, 12}});
    EXPECT_FALSE(read(bz.bytes, &err));
    EXPECT_EQ(err, "manifest compressed with method 12 (not stored or deflated)");
}

TEST(JarManifest, Zip64IsRefused) {
    auto z = build_zip({{"META-INF/MANIFEST.MF", kAgentMf}});
    std::string b = z.bytes;
    for (int i = 16; i < 20; ++i) b[z.end_offset + i] = '\xff';
    std::string err;
    EXPECT_FALSE(read(b, &err));
    EXPECT_EQ(err, "zip64 archive (not supported)");
}

TEST(JarManifest, ManyEntriesAreWalkedOnlyUpToTheCap) {
    std::vector<ZipEntry> entries;
    for (int i = 0; i < 100000; ++i) entries.push_back({"c" + std::to_string(i), ""});
    auto last = entries;
    last.push_back({"META-INF/MANIFEST.MF", kAgentMf});
    std::string err;
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(read(build_zip(last).bytes, &err));
    EXPECT_EQ(err, "more than 65536 central directory entries before the manifest");
    // Generous: a walk of 65536 records in 256 KiB blocks, not one read each.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    auto first = entries;
    first.insert(first.begin(), {"META-INF/MANIFEST.MF", kAgentMf});
    auto m = read(build_zip(first).bytes, &err);
    ASSERT_TRUE(m) << err;
    EXPECT_EQ(m->premain_class, "com.example.Premain");
}

TEST(JarManifest, AZipBombIsCappedNotInflated) {
    std::string err;
    // A claim of 4 GiB: refused from the header, nothing inflated.
    auto claim = build_zip({{"META-INF/MANIFEST.MF", kAgentMf, true, 0xFFFFFFFE}});
    EXPECT_FALSE(read(claim.bytes, &err));
    EXPECT_EQ(err, "manifest larger than 1 MiB");
    // A real bomb claiming a small size: inflation stops at the cap.
    std::string zeros(64u << 20, 'A');
    auto bomb = build_zip({{"META-INF/MANIFEST.MF", zeros, true, 100}});
    EXPECT_LT(bomb.bytes.size(), 1u << 20);
    EXPECT_FALSE(read(bomb.bytes, &err));
    EXPECT_EQ(err, "manifest larger than 1 MiB");
    // Stored: the size is known without reading.
    auto stored = build_zip({{"META-INF/MANIFEST.MF", std::string((1u << 20) + 1, 'A')}});
    EXPECT_FALSE(read(stored.bytes, &err));
    EXPECT_EQ(err, "manifest larger than 1 MiB");
    // At the cap exactly it is read.
    std::string at_cap = "Agent-Class: x\n" + std::string((1u << 20) - 15, '\n');
    auto ok = read(build_zip({{"META-INF/MANIFEST.MF", at_cap, true}}).bytes, &err);
    ASSERT_TRUE(ok) << err;
    EXPECT_EQ(ok->agent_class, "x");
}

TEST(ZipEntry, AnyEntryByExactNameWithItsOwnWordInErrors) {
    auto z = build_zip({{"a/B.class", std::string(3000, 'b'), true}, {"c.txt", "stored"}});
    auto fd = memfile(z.bytes);
    std::string err;
    ZipLimits l;
    EXPECT_EQ(read_zip_entry(fd.get(), z.bytes.size(), "a/B.class", "class", l, &err), std::string(3000, 'b'));
    EXPECT_EQ(read_zip_entry(fd.get(), z.bytes.size(), "c.txt", "text", l, &err), "stored");
    EXPECT_FALSE(read_zip_entry(fd.get(), z.bytes.size(), "C.TXT", "text", l, &err));
    EXPECT_EQ(err, "no C.TXT");
    l.max_entry_bytes = 100;
    EXPECT_FALSE(read_zip_entry(fd.get(), z.bytes.size(), "a/B.class", "class", l, &err));
    EXPECT_EQ(err, "class larger than 100 bytes");
}

}  // namespace
}  // namespace jvmwatch::artifacts
