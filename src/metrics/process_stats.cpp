#include "meshd/metrics/process_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace meshd::metrics {

ProcessStats read_process_stats() {
  ProcessStats s;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which may itself contain spaces.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // f[0] is field 3 (state); utime is field 14, stime 15, num_threads 20,
    // starttime 22, vsize 23, rss 24.
    if (f.size() > 22) {
      s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      s.threads = std::stoull(f[17]);
      double boot = 0;
      std::ifstream proc_stat("/proc/stat");
      std::string key;
      while (proc_stat >> key)
        if (key == "btime") {
          proc_stat >> boot;
          break;
        }
      s.start_time_seconds = boot + std::stod(f[19]) / ticks;
      s.virtual_bytes = std::stoull(f[20]);
      s.resident_bytes = std::stoull(f[21]) * page;
    }
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++s.open_fds;
  return s;
}

}  // namespace meshd::metrics
