#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// Command-line options of meshd-demo-service: the knobs that let the demo
// config and the integration tests make a managed service slow, flaky,
// crashing, stubborn or chatty on purpose.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace meshd::demo {

using Millis = std::chrono::milliseconds;

/// Everything the command line and environment asked for.
struct Options {
  std::string host = "127.0.0.1";
  std::optional<int> port;  // --port or $PORT
  std::string name;         // --name, $MESHD_INSTANCE, or "demo-<port>"
  Millis startup_delay{0};
  bool notify = false;                     // send READY=1 to $NOTIFY_SOCKET
  Millis latency{0};                       // added to every non-health response
  double error_rate = 0;                   // share of non-health requests answered 500
  std::optional<Millis> crash_after;       // then exit code 3
  std::uint64_t crash_after_requests = 0;  // 0: never
  std::optional<Millis> exit_after;        // then exit with exit_code
  int exit_code = 0;
  bool ignore_sigterm = false;
  bool spawn_child = false;
  std::optional<Millis> log_every;
  bool flood_stdout = false;
  bool unhealthy = false;
  bool quiet = false;  // no per-request log lines
};

/// A bad command line; main prints what() on one line and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown for --help after the usage text is printed; main exits 0.
struct HelpShown {};

/// Parses argv (and $PORT, $MESHD_INSTANCE). Throws UsageError or HelpShown.
Options parse_options(int argc, char** argv);

/// "250ms", "2s", "1.5m" or "0". Throws UsageError naming `option`.
Millis parse_duration(const std::string& option, const std::string& text);

}  // namespace meshd::demo
