// What `jvmwatch ps` prints for names another user controls.
#include <gtest/gtest.h>

#include "userspace/cli/printable.h"

namespace jvmwatch::cli {
namespace {

TEST(AttachCliPrintable, EscapesControlCharacters) {
    EXPECT_EQ(printable("com.x.Main"), "com.x.Main");
    EXPECT_EQ(printable("a\nFORGED 1 root"), "a\\nFORGED 1 root");
    EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    EXPECT_EQ(printable("t\tr\rb\\"), "t\\tr\\rb\\\\");
    EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
    EXPECT_EQ(printable("del\x7f"), "del\\x7f");
    EXPECT_EQ(printable("csi\xc2\x9b"), "csi\\u009b") << "a C1 control is escaped too";
}

TEST(AttachCliPrintable, KeepsValidUtf8AndReplacesInvalid) {
    EXPECT_EQ(printable("Grüße 日本 \xF0\x9F\x98\x80"), "Grüße 日本 \xF0\x9F\x98\x80");
    EXPECT_EQ(printable("bad\xff"), "bad\xEF\xBF\xBD");
    EXPECT_EQ(printable("\xC3"), "\xEF\xBF\xBD") << "truncated sequence";
    EXPECT_EQ(printable("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong '/'";
    EXPECT_EQ(printable("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "surrogate";
    std::string big(1 << 20, 'a');
    EXPECT_EQ(printable(big).size(), big.size());
}

}  // namespace
}  // namespace jvmwatch::cli
