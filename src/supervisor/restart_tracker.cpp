#include "meshd/supervisor/restart_tracker.hpp"

#include <algorithm>

#include "meshd/supervisor/process_state.hpp"

namespace meshd::supervisor {

const char* to_string(ProcessState state) {
  switch (state) {
    case ProcessState::pending:
      return "pending";
    case ProcessState::starting:
      return "starting";
    case ProcessState::running:
      return "running";
    case ProcessState::backoff:
      return "backoff";
    case ProcessState::stopping:
      return "stopping";
    case ProcessState::stopped:
      return "stopped";
    case ProcessState::exited:
      return "exited";
    case ProcessState::failed:
      return "failed";
    case ProcessState::elsewhere:
      return "elsewhere";
  }
  return "unknown";
}

std::optional<core::Duration> RestartTracker::on_crash(core::TimePoint started, core::TimePoint now,
                                                       double random01) {
  if (now - started >= spec_.reset_after) consecutive_ = 0;
  while (!recent_.empty() && now - recent_.front() > spec_.window) recent_.pop_front();
  if (spec_.max_restarts > 0 && static_cast<int>(recent_.size()) >= spec_.max_restarts)
    return std::nullopt;

  double delay = static_cast<double>(spec_.backoff.initial.count());
  double cap = static_cast<double>(std::max(spec_.backoff.max, spec_.backoff.initial).count());
  for (int i = 0; i < consecutive_ && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  delay *= 0.8 + 0.2 * std::clamp(random01, 0.0, 1.0);

  ++consecutive_;
  ++total_;
  recent_.push_back(now);
  return core::Duration(static_cast<long long>(delay));
}

void RestartTracker::clear() {
  recent_.clear();
  consecutive_ = 0;
}

}  // namespace meshd::supervisor
