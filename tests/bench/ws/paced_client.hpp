#pragma once
// The client of ws_echo_bench: an open-loop, paced echo load. Message i of
// the run is due at start + i / rate, whatever happened to the ones before
// it, and its latency counts from that due time, not from when it was
// actually written: a stall that delays sending shows up in the figures
// instead of being hidden by a client that waits (coordinated omission).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace meshd::bench {

/// What to run. `host`, `port` and `path` name the WebSocket endpoint.
struct ClientOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/";
  int connections = 10;
  double rate = 10000;       // messages a second, over all connections
  std::size_t size = 64;     // bytes a message (at least 16: sequence and due time)
  double seconds = 10;       // how long messages are sent
  double drain_seconds = 2;  // how long to wait for the last echoes after that
  double connect_seconds = 5;
  std::vector<int> cpu_pids;  // processes whose CPU time is read at the run's start and end
};

/// What happened. Latencies are in microseconds, one per echo received.
struct ClientResult {
  std::uint64_t sent = 0, received = 0, corrupt = 0;
  std::vector<double> latency_us;
  double worst_at_s = 0;      // when the slowest message was due, in seconds into the run
  double elapsed_s = 0;       // from the first due time to the last echo or the drain's end
  std::vector<double> cpu_s;  // per cpu_pids entry: CPU seconds used while the schedule ran
  std::string error;          // why the run did not start (connect failed), or empty
  std::string first_failure;  // the first connection that failed during the run, or empty
};

/// Connects all connections, runs the schedule, waits for the echoes and
/// closes; bounded by connect_seconds + seconds + drain_seconds + 2 s.
ClientResult run_client(const ClientOptions& options);

}  // namespace meshd::bench
