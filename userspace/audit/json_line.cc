#include "userspace/audit/json_line.h"

namespace jvmwatch::audit {

std::string to_json_line(const nlohmann::json& event) {
    return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace jvmwatch::audit
