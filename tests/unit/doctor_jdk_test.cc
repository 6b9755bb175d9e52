// `jvmwatch doctor`'s JVM side on made-up JDK trees and sysfs roots (no root): which JDKs
// are found, what makes one "supported" or "client-side only" and the line that says
// why, hostile files (symlinks, FIFOs, garbage, control bytes) refused without blocking.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/common/support.h"
#include "tests/unit/elf_test_image.h"
#include "userspace/cli/doctor_jdk.h"

namespace jvmwatch::cli {
namespace {

using test::ElfImage;
using test::TempDir;
using test::TestFn;

constexpr const char* kReadRequest17 = "_ZN19LinuxAttachListener12read_requestEi";
constexpr const char* kDcmd = "_ZN4DCmd17parse_and_executeE10DCmdSourceP12outputStreamPKccP10JavaThread";

void write_file(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A JDK home with a release file and a libjvm.so holding the functions `fns`.
std::string make_jdk(const TempDir& dir, const std::string& name, const std::vector<TestFn>& fns,
                     const std::string& release = "JAVA_VERSION=\"17.0.99\"\n") {
    std::string home = dir.file(name);
    write_file(home + "/lib/server/libjvm.so", ElfImage(fns).bytes());
    write_file(home + "/release", release);
    return home;
}

UprobeSupport with_uprobes() { return {true, 8, ""}; }

TEST(DoctorJdk, ReadRequestMakesAJdkSupportedAndTheLineListsTheProbes) {
    TempDir dir("jw-doctor");
    auto home = make_jdk(dir, "jdk", {{kReadRequest17, 0x1000}, {kDcmd, 0x1100}});
    JdkReport r = inspect_jdk(home, with_uprobes());
    EXPECT_TRUE(r.supported);
    EXPECT_EQ(r.version, "17.0.99");
    EXPECT_EQ(r.found, 2u);
    EXPECT_EQ(r.total, observer::jdk_probe_table().size());
    EXPECT_EQ(describe(r), home + "  17.0.99  JVM-side probes: supported (2 of " + std::to_string(r.total) +
                               ": read_request, dcmd); libinstrument.so: " + home +
                               "/lib/libinstrument.so: No such file or directory");
    auto j = to_json(r);
    EXPECT_EQ(j["visibility"], "jvm");
    EXPECT_EQ(j["probes_found"], nlohmann::json::array({"read_request", "dcmd"}));
    EXPECT_EQ(j["probes_missing"].size(), r.total - 2);
    EXPECT_FALSE(j.contains("why"));
    EXPECT_EQ(j["libinstrument"]["error"], home + "/lib/libinstrument.so: No such file or directory");
}

TEST(DoctorJdk, WithoutReadRequestOrUprobesItIsClientSideOnlyAndSaysWhy) {
    TempDir dir("jw-doctor");
    auto no_listener = make_jdk(dir, "a", {{kDcmd, 0x1100}});
    JdkReport r = inspect_jdk(no_listener, with_uprobes());
    EXPECT_FALSE(r.supported);
    EXPECT_EQ(describe(r), no_listener + "  17.0.99  client-side only: libjvm.so has no known attach listener "
                                         "read_request symbol (an unsupported JDK build)");
    EXPECT_EQ(to_json(r)["visibility"], "client");

    auto good = make_jdk(dir, "b", {{kReadRequest17, 0x1000}});
    UprobeSupport none{false, -1, "no uprobe PMU (x)"};
    r = inspect_jdk(good, none);
    EXPECT_FALSE(r.supported);
    EXPECT_EQ(r.why, "this kernel has no uprobes: no uprobe PMU (x)");
}

TEST(DoctorJdk, HostileLibjvmIsRefusedWithOneLine) {
    TempDir dir("jw-doctor");
    // Garbage bytes.
    std::string garbage = dir.file("garbage");
    write_file(garbage + "/lib/server/libjvm.so", std::string(4096, 'x'));
    JdkReport r = inspect_jdk(garbage, with_uprobes());
    EXPECT_FALSE(r.supported);
    EXPECT_EQ(r.why.rfind("libjvm.so: ", 0), 0u) << r.why;
    EXPECT_EQ(r.version, "");
    EXPECT_NE(describe(r).find("  version ?  client-side only: libjvm.so: "), std::string::npos);

    // A symlink to a real-looking library: not followed, and not a JDK for --jdk.
    auto real = make_jdk(dir, "real", {{kReadRequest17, 0x1000}});
    std::string linked = dir.file("linked");
    std::filesystem::create_directories(linked + "/lib/server");
    ASSERT_EQ(symlink((real + "/lib/server/libjvm.so").c_str(), (linked + "/lib/server/libjvm.so").c_str()), 0);
    EXPECT_NE(check_jdk_home(linked), "");
    r = inspect_jdk(linked, with_uprobes());
    EXPECT_FALSE(r.supported);
    EXPECT_NE(r.why.find("libjvm.so: " + linked + "/lib/server/libjvm.so"), std::string::npos) << r.why;

    // A FIFO as libjvm.so and as release: refused, nothing blocks.
    std::string fifo = dir.file("fifo");
    std::filesystem::create_directories(fifo + "/lib/server");
    ASSERT_EQ(mkfifo((fifo + "/lib/server/libjvm.so").c_str(), 0644), 0);
    ASSERT_EQ(mkfifo((fifo + "/release").c_str(), 0644), 0);
    EXPECT_NE(check_jdk_home(fifo), "");
    r = inspect_jdk(fifo, with_uprobes());
    EXPECT_FALSE(r.supported);
    EXPECT_EQ(r.version, "");
}

TEST(DoctorJdk, VersionIsCappedAndPrintable) {
    TempDir dir("jw-doctor");
    auto home = make_jdk(dir, "jdk", {{kReadRequest17, 0x1000}},
                         "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"17\x1b[2J\nforged\"\n");
    JdkReport r = inspect_jdk(home, with_uprobes());
    EXPECT_EQ(r.version, "\"17\x1b[2J");
    EXPECT_EQ(describe(r).find('\x1b'), std::string::npos) << describe(r);
    EXPECT_NE(describe(r).find("\\x1b[2J"), std::string::npos) << describe(r);

    auto longv = make_jdk(dir, "long", {{kReadRequest17, 0x1000}}, "JAVA_VERSION=" + std::string(500, '9') + "\n");
    EXPECT_EQ(inspect_jdk(longv, with_uprobes()).version.size(), 64u);
}

TEST(DoctorJdk, Jdk8LayoutIsFound) {
    TempDir dir("jw-doctor");
    struct utsname u{};
    ASSERT_EQ(uname(&u), 0);
    std::string arch = std::string(u.machine) == "x86_64" ? "amd64" : u.machine;
    std::string home = dir.file("jdk8");
    write_file(home + "/jre/lib/" + arch + "/server/libjvm.so", ElfImage({{kReadRequest17, 0x1000}}).bytes());
    write_file(home + "/release", "JAVA_VERSION=\"1.8.0_402\"\n");
    EXPECT_EQ(check_jdk_home(home), "");
    JdkReport r = inspect_jdk(home, with_uprobes());
    EXPECT_TRUE(r.supported) << r.why;
    EXPECT_EQ(r.version, "1.8.0_402");
    EXPECT_EQ(r.libinstrument_error, home + "/jre/lib/" + arch + "/libinstrument.so: No such file or directory");
    EXPECT_EQ(find_jdks(dir.path()), std::vector<std::string>{home});

    // Nothing in any layout: the JDK 9+ path is named.
    std::filesystem::create_directories(dir.file("empty"));
    EXPECT_EQ(check_jdk_home(dir.file("empty")), dir.file("empty") + "/lib/server/libjvm.so: No such file or directory");
}

TEST(DoctorJdk, FindsEachJdkDirectoryOnce) {
    TempDir dir("jw-doctor");
    auto b = make_jdk(dir, "jdk-b", {});
    auto a = make_jdk(dir, "jdk-a", {});
    std::filesystem::create_directories(dir.file("not-a-jdk/lib"));
    ASSERT_EQ(symlink("jdk-a", dir.file("alias-a").c_str()), 0);
    EXPECT_EQ(find_jdks(dir.path()), (std::vector<std::string>{a, b}));
    EXPECT_TRUE(find_jdks(dir.file("missing")).empty());
}

TEST(DoctorJdk, UprobePmuIsReadInsideTheSysfsRoot) {
    TempDir dir("jw-doctor");
    // As in sysfs: the device entry is a relative symlink to the device directory.
    write_file(dir.file("devices/uprobe/type"), "8\n");
    std::filesystem::create_directories(dir.file("bus/event_source/devices"));
    ASSERT_EQ(symlink("../../../devices/uprobe", dir.file("bus/event_source/devices/uprobe").c_str()), 0);
    auto u = probe_uprobes(dir.path());
    EXPECT_TRUE(u.available) << u.why;
    EXPECT_EQ(u.pmu_type, 8);
    EXPECT_EQ(describe(u), "uprobes: yes (uprobe PMU type 8)");
    EXPECT_EQ(to_json(u), (nlohmann::json{{"available", true}, {"pmu_type", 8}}));

    TempDir empty("jw-doctor");
    u = probe_uprobes(empty.path());
    EXPECT_FALSE(u.available);
    EXPECT_EQ(u.why, "no uprobe PMU (" + empty.path() +
                         "/bus/event_source/devices/uprobe/type: No such file or directory); the kernel needs "
                         "CONFIG_UPROBES");
}

}  // namespace
}  // namespace jvmwatch::cli
