#pragma once
// CPU time of a process, from /proc/<pid>/stat (utime + stime).

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace meshd::bench {

/// Seconds of CPU the process has used so far, user and system; -1 when
/// it cannot be read (no such process).
inline double process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  if (!in.good() && text.empty()) return -1;
  if (paren == std::string::npos) return -1;
  // After "pid (comm) ": field 3 (state) onwards; utime and stime are 14 and 15.
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace meshd::bench
