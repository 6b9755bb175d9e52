// Where finished audit events go.  Producers build one JSON object per event with at
// least "type"; the sink adds the common envelope (schema version, time, host) and
// writes it.  emit() is thread-safe and never blocks on slow output for long: see
// docs/events.md for the drop and fsync policy.
#pragma once

#include <nlohmann/json.hpp>

namespace jvmwatch::audit {

class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void emit(nlohmann::json event) = 0;
};

}  // namespace jvmwatch::audit
