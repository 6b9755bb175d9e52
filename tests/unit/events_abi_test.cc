// The shared event header's sizes must match on both sides of the ring buffer.
#include <gtest/gtest.h>

#include "jvmwatch/events.h"

JW_ASSERT_EVENT_SIZES();
#include <cstddef>

TEST(EventsAbi, HeaderIsEightByteAligned) {
    EXPECT_EQ(sizeof(jw_event_hdr) % 8, 0u);
    EXPECT_EQ(offsetof(jw_event_hdr, cgroup_id) % 8, 0u);
}

TEST(EventsAbi, IdentityEventLayout) {
    // The identity event is a header, the trigger, and the image the exec stored.
    EXPECT_EQ(offsetof(jw_identity_event, exec), JW_EVENT_HDR_SIZE + 8u);
    EXPECT_EQ(offsetof(jw_identity_event, exec) % 8, 0u);
    EXPECT_EQ(offsetof(jw_exec_image, ppid), 16u);
    EXPECT_EQ(offsetof(jw_exec_image, comm), 32u);
    EXPECT_EQ(offsetof(jw_exec_image, filename), 32u + 2 * JW_COMM_LEN);
    EXPECT_EQ(offsetof(jw_exec_image, args), 32u + 2 * JW_COMM_LEN + JW_PATH_LEN);
    EXPECT_EQ(sizeof(jw_identity_event) % 8, 0u);
    // Event types and counters only grow: recordings of older kernels still decode.
    EXPECT_EQ(JW_EV_SOCK_CLOSE, 9);
    EXPECT_EQ(JW_EV_IDENTITY, 10);
    EXPECT_EQ(JW_STAT_EXEC_DROPS, 3);
    EXPECT_GT(static_cast<int>(JW_STAT_MAX), static_cast<int>(JW_STAT_MILESTONE_FULL));
}
