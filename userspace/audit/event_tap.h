// Something that sees every event the audit sink writes, on the sink's writer thread
// (off the event path), after the envelope was added: e.g. the metrics' counters.
// on_event() must be quick and must not block: it delays the writer, not the producers.
#pragma once

#include <nlohmann/json.hpp>

namespace jvmwatch::audit {

class EventTap {
public:
    virtual ~EventTap() = default;
    virtual void on_event(const nlohmann::json& event) = 0;
};

}  // namespace jvmwatch::audit
