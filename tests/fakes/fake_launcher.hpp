#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <string>
#include <vector>

#include "meshd/supervisor/process_launcher.hpp"

namespace meshd::testing {

/// A ProcessLauncher with no processes: launch() hands out fake pids and
/// remembers them; a test ends one with exit(pid, code) or kill(pid, sig).
/// Signals are recorded; by default a SIGTERM/SIGKILL to a live "process"
/// does not end it until the test says so, so escalation can be tested.
class FakeLauncher final : public supervisor::ProcessLauncher {
 public:
  struct Launch {
    pid_t pid;
    supervisor::LaunchSpec spec;
  };

  core::Result<pid_t> launch(const supervisor::LaunchSpec& spec, OnExit on_exit) override {
    if (fail_next) {
      fail_next = false;
      return core::make_error(core::ErrorCode::invalid_argument,
                              "cannot run '" + spec.argv.at(0) + "'");
    }
    pid_t pid = next_pid_++;
    launches.push_back({pid, spec});
    alive_[pid] = std::move(on_exit);
    return pid;
  }

  bool signal_group(pid_t pid, int signal) override {
    signals.emplace_back(pid, signal);
    if (!alive_.count(pid)) return false;
    if (signal == SIGKILL && die_on_sigkill)
      kill(pid, SIGKILL);
    else if (signal == SIGTERM && die_on_sigterm)
      kill(pid, SIGTERM);
    return true;
  }

  /// The process exits with `code`.
  void exit(pid_t pid, int code) { end(pid, (code & 0xff) << 8); }
  /// The process dies of `sig`.
  void kill(pid_t pid, int sig) { end(pid, sig & 0x7f); }

  bool alive(pid_t pid) const { return alive_.count(pid) > 0; }
  std::size_t alive_count() const { return alive_.size(); }
  pid_t last_pid() const { return launches.empty() ? -1 : launches.back().pid; }
  /// Launches of one instance id, in order.
  std::vector<pid_t> pids_of(const std::string& instance) const {
    std::vector<pid_t> out;
    for (const auto& l : launches)
      if (l.spec.instance == instance) out.push_back(l.pid);
    return out;
  }
  int signals_to(pid_t pid, int sig) const {
    int n = 0;
    for (const auto& [p, s] : signals)
      if (p == pid && s == sig) ++n;
    return n;
  }

  std::vector<Launch> launches;
  std::vector<std::pair<pid_t, int>> signals;
  bool fail_next = false;
  bool die_on_sigterm = true;
  bool die_on_sigkill = true;

 private:
  void end(pid_t pid, int status) {
    auto it = alive_.find(pid);
    if (it == alive_.end()) return;
    auto on_exit = std::move(it->second);
    alive_.erase(it);
    on_exit(status);
  }

  pid_t next_pid_ = 1000;
  std::map<pid_t, OnExit> alive_;
};

}  // namespace meshd::testing
