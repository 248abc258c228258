#pragma once

#include <cstdint>

namespace meshd::metrics {

/// meshd's own resource use, read from /proc/self.
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;  // Unix time
  std::uint64_t threads = 0;
};

ProcessStats read_process_stats();

}  // namespace meshd::metrics
