#include "config_file_watch.hpp"

#include <filesystem>

namespace meshd::daemon {
namespace {

// Modification time and size: enough to notice a save, cheap to poll.
std::string file_stamp(const std::string& path) {
  std::error_code ec;
  auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return "missing";
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return "missing";
  return std::to_string(time.time_since_epoch().count()) + ":" + std::to_string(size);
}

}  // namespace

ConfigFileWatch::ConfigFileWatch(core::Scheduler& scheduler, std::string path,
                                 std::function<void()> changed, core::Duration poll,
                                 core::Duration settle)
    : scheduler_(scheduler),
      path_(std::move(path)),
      changed_(std::move(changed)),
      poll_(poll),
      settle_(settle),
      stamp_(file_stamp(path_)),
      timer_(scheduler) {
  timer_.arm(poll_, [this] { this->poll(); });
}

void ConfigFileWatch::poll() {
  std::string stamp = file_stamp(path_);
  auto now = scheduler_.clock().now();
  if (stamp != stamp_) {
    if (stamp != pending_stamp_) {
      pending_stamp_ = stamp;
      changed_at_ = now;
    } else if (now - changed_at_ >= settle_ && stamp != "missing") {
      stamp_ = stamp;
      changed_();
    }
  }
  timer_.arm(poll_, [this] { this->poll(); });
}

}  // namespace meshd::daemon
