#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"
#include "meshd/supervisor/log_tail.hpp"

namespace meshd::supervisor {

/// Everything needed to start one instance's process.
struct LaunchSpec {
  std::string service;
  std::string instance;
  std::vector<std::string> argv;
  std::string cwd;
  std::map<std::string, std::string> env;  // the whole environment
  config::LogsSpec logs;
  std::shared_ptr<LogTail> tail;  // the service's in-memory tail
};

/// Starts and signals processes. The daemon uses the real one; unit tests
/// of the supervisor's state machines use tests/fakes/fake_launcher.hpp.
class ProcessLauncher {
 public:
  using OnExit = std::function<void(int wait_status)>;
  virtual ~ProcessLauncher() = default;
  /// Starts the process in its own group, its output going to the logs.
  /// `on_exit` is called once, on the control loop, when it exits.
  virtual core::Result<pid_t> launch(const LaunchSpec& spec, OnExit on_exit) = 0;
  /// Signals the process group; false when it is gone.
  virtual bool signal_group(pid_t pid, int signal) = 0;
};

}  // namespace meshd::supervisor
