#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "meshd/core/child_reaper.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/supervisor/process_launcher.hpp"

namespace meshd::supervisor {

/// Real processes: fork/exec through core::spawn_process, exits from the
/// ChildReaper, and stdout/stderr pumped into rotated files under
/// `log_dir` and the service's LogTail.
///
/// The pipes are read on a dedicated log thread with its own io_context, so
/// a busy control loop can never leave a child blocked on a full pipe; the
/// thread only moves bytes from pipes to files.
class OsProcessLauncher final : public ProcessLauncher {
 public:
  OsProcessLauncher(core::ChildReaper& reaper, std::string log_dir, const core::TimeSource& clock);
  ~OsProcessLauncher() override;

  core::Result<pid_t> launch(const LaunchSpec& spec, OnExit on_exit) override;
  bool signal_group(pid_t pid, int signal) override;

  const std::string& log_dir() const { return log_dir_; }

 private:
  core::ChildReaper& reaper_;
  std::string log_dir_;
  const core::TimeSource& clock_;
  boost::asio::io_context log_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> log_work_;
  std::thread log_thread_;
};

}  // namespace meshd::supervisor
