#include "tests/common/support.h"
TEST(Harness, RootGate) { JW_REQUIRE_ROOT(); SUCCEED(); }
