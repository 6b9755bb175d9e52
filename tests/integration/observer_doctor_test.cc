// `jvmwatch doctor`: features, hook per event kind, and a real load; a clear failure
// without privileges.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <string>

#include "tests/common/support.h"

namespace jvmwatch::test {
namespace {

TEST(ObserverDoctor, ReportsHooksAndLoadsAsRoot) {
    JW_REQUIRE_ROOT();
    std::string out;
    ASSERT_EQ(run_command({bin_path("jvmwatch"), "doctor"}, &out), 0) << out;
    for (const char* s : {"kernel BTF", "tp_btf/sched_process_exec", "cgroup/connect_unix",
                          "Hooks, default mode", "Hooks, deep mode", "sock_data",
                          "Load test: default-mode observer loaded and attached: OK"})
        EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
    EXPECT_EQ(out.find("NONE"), std::string::npos) << out;
}

TEST(ObserverDoctor, WithoutPrivilegesExitsSystemErrorWithTheCause) {
    JW_REQUIRE_ROOT();   // to drop to nobody
    Child::Spec spec{{bin_path("jvmwatch"), "doctor"}, {}, 65534, 65534, ""};
    Child doctor(spec);
    auto st = doctor.wait_exit(std::chrono::seconds(60));
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 13) << doctor.output();
    EXPECT_NE(doctor.output().find("jvmwatch doctor: BPF unavailable: "), std::string::npos)
        << doctor.output();
    EXPECT_NE(doctor.output().find("run as root"), std::string::npos);
}

}  // namespace
}  // namespace jvmwatch::test
