#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <functional>
#include <string>

#include "meshd/core/scheduler.hpp"

namespace meshd::daemon {

/// --dev: notices when the config file changes on disk. Polled (every
/// `poll`) rather than inotify, so that an editor's rename-over-the-file
/// and a file on a network mount work alike; debounced: `changed` runs once
/// the file has stayed the same for `settle` (an editor writes in steps),
/// and never for a file that is missing (mid-save).
class ConfigFileWatch {
 public:
  ConfigFileWatch(core::Scheduler& scheduler, std::string path, std::function<void()> changed,
                  core::Duration poll = core::Duration(500),
                  core::Duration settle = core::Duration(300));
  ConfigFileWatch(const ConfigFileWatch&) = delete;
  ConfigFileWatch& operator=(const ConfigFileWatch&) = delete;

 private:
  void poll();

  core::Scheduler& scheduler_;
  std::string path_;
  std::function<void()> changed_;
  core::Duration poll_;
  core::Duration settle_;
  std::string stamp_;          // of the version last reported (or seen at start)
  std::string pending_stamp_;  // of a change still settling
  core::TimePoint changed_at_{};
  core::Timer timer_;
};

}  // namespace meshd::daemon
