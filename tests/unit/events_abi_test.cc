// The shared event header's sizes must match on both sides of the ring buffer.
#include <gtest/gtest.h>

#include "jvmwatch/events.h"

JW_ASSERT_EVENT_SIZES();
#include <cstddef>

TEST(EventsAbi, HeaderIsEightByteAligned) {
    EXPECT_EQ(sizeof(jw_event_hdr) % 8, 0u);
    EXPECT_EQ(offsetof(jw_event_hdr, cgroup_id) % 8, 0u);
}
