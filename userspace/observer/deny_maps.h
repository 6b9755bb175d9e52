// The kernel's deny-rule maps (bpf/connect.bpf.c, include/jvmwatch/deny_maps.h) as the
// DenyTable writes them.  An interface so the table is unit-tested with a map in memory.
#pragma once

#include <cstdint>

#include "jvmwatch/deny_maps.h"

namespace jvmwatch::observer {

class DenyMaps {
public:
    enum class Map { targets, allow_exe, allow_uid, allow_cgroup };
    virtual ~DenyMaps() = default;
    // 0: no deny rules; 1 or 2: slot 0 or 1 is in force (one atomic word).
    virtual bool set_active(uint32_t active) = 0;
    virtual bool set_slot(uint32_t slot, const jw_deny_slot& cfg) = 0;
    // key is the map's key struct (its first field is the slot).
    virtual bool put(Map m, const void* key, const jw_deny_mask& value) = 0;
    virtual bool remove(Map m, const void* key) = 0;
    // Removes every entry of `slot` from all four maps.
    virtual void clear_slot(uint32_t slot) = 0;
};

}  // namespace jvmwatch::observer
