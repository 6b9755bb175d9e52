// The daemon's EventSink: emit() stamps the envelope (schema version, sequence number,
// time, host) and queues the event; a writer thread serialises (JSON Lines, or the text
// form of text_line.h on stdout when asked), writes and fsyncs.
// emit() never waits for the output: when the bounded queue is full the event is
// dropped and counted (dropped(), reported in the next stats event; the sequence
// number gap shows where).  Control events (daemon.*, stats) get a small reserve so the
// report of a drop is not itself dropped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "userspace/audit/event_sink.h"
#include "userspace/audit/event_tap.h"
#include "userspace/audit/log_file.h"

namespace jvmwatch::audit {

// Version of the event schema (docs/events.schema.json); bumped on incompatible change.
constexpr int kSchemaVersion = 1;

// The stream's form on stdout.  A file always gets JSON Lines (the audit record).
enum class OutputFormat { json, text };

struct SinkOptions {
    LogFileOptions file;
    size_t queue_capacity = 65536;
    // fsync after this many events or this long after the first unsynced one, whichever
    // comes first; and always at stop.  0 events = only by time.
    unsigned fsync_every_events = 1000;
    unsigned fsync_interval_ms = 1000;
    std::string host;                   // "" = gethostname()
    OutputFormat stdout_format = OutputFormat::json;
    // Sees each event on the writer thread (metrics); not owned, outlives the sink.
    EventTap* tap = nullptr;
    // Called on the writer thread with each batch once written (the local API's feed,
    // userspace/api/api_feed.h); it must only hand the batch off, never wait.
    std::function<void(const std::deque<nlohmann::json>&)> batch_tap;
};

class AsyncEventSink : public EventSink {
public:
    explicit AsyncEventSink(SinkOptions opts);
    ~AsyncEventSink() override;   // stop()

    // Opens the output and starts the writer; false and *error on failure.
    bool start(std::string* error);
    void emit(nlohmann::json event) override;
    // Writes what is queued, fsyncs, joins the writer.  Idempotent.
    void stop();
    // Blocks until everything emitted so far is written (tests, readiness).
    void flush();

    uint64_t emitted() const;
    uint64_t dropped() const;
    uint64_t written() const;
    uint64_t write_errors() const;
    uint64_t write_lost() const;        // events in batches that failed to write
    uint64_t rotations() const;
    size_t queued() const;              // events waiting for the writer now
    size_t capacity() const { return opts_.queue_capacity; }
    const std::string& host() const { return host_; }

private:
    void run();
    SinkOptions opts_;
    std::string host_;
    LogFile file_;
    mutable std::mutex mu_;
    std::condition_variable cv_, drained_;
    std::deque<nlohmann::json> queue_;
    uint64_t seq_ = 0, dropped_ = 0, written_ = 0, write_errors_ = 0, write_lost_ = 0, rotations_ = 0;
    uint64_t in_flight_ = 0;
    bool stopping_ = false, started_ = false;
    std::thread writer_;
};

}  // namespace jvmwatch::audit
