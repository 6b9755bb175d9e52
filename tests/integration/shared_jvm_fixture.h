// One idle jw.test.Sleeper JVM shared by every test of a suite (starting JVMs is the
// slow part), checked after each test for a thread dump it must never print.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/common/support.h"

namespace jvmwatch::test {

inline void expect_no_thread_dump(const Child& jvm) {
    EXPECT_EQ(jvm.output().find("Full thread dump"), std::string::npos)
        << "the JVM printed a thread dump:\n" << jvm.output();
}

// Suites derive from this; gtest runs suites one after another, so the static JVM is
// started and stopped once per suite.
class SharedJvmTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!have_root()) return;
        jvm_ = std::make_unique<Child>(java_spec({"-Xmx64m"}, "jw.test.Sleeper"));
        ready_ = jvm_->wait_for_output("ready", std::chrono::seconds(60));
    }
    static void TearDownTestSuite() { jvm_.reset(); }
    void SetUp() override {
        JW_REQUIRE_ROOT();
        ASSERT_TRUE(ready_) << jvm_->output();
    }
    void TearDown() override {
        if (jvm_) expect_no_thread_dump(*jvm_);
    }
    static inline std::unique_ptr<Child> jvm_;
    static inline bool ready_ = false;
};

}  // namespace jvmwatch::test
