// Writes the seed corpus of event_decoder_fuzzer: every recorded raw event of the given
// fixtures (tests/fixtures/events/*.jsonl, `jvmwatchd --record-raw` output) as the bytes
// the kernel sent, one file per distinct record.  `make fuzz-event-seeds` runs it.
#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "userspace/daemon/raw_event_json.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s OUT_DIR FIXTURE.jsonl...\n", argv[0]);
        return 2;
    }
    std::set<std::string> seen;
    int written = 0;
    for (int i = 2; i < argc; ++i) {
        std::ifstream in(argv[i]);
        std::string line;
        while (std::getline(in, line)) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.contains("kind")) continue;   // the fixture's header line
            std::string error;
            auto bytes = jvmwatch::daemon::raw_event_from_json(j, &error);
            if (!bytes) {
                std::fprintf(stderr, "%s: %s\n", argv[i], error.c_str());
                return 1;
            }
            std::string b(bytes->begin(), bytes->end());
            if (!seen.insert(b).second) continue;
            char name[64];
            std::snprintf(name, sizeof name, "/%s-%03d", j["kind"].get<std::string>().c_str(), written++);
            std::ofstream(argv[1] + std::string(name), std::ios::binary) << b;
        }
    }
    std::printf("%d seeds\n", written);
    return 0;
}
