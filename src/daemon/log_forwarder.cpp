#include "log_forwarder.hpp"

namespace meshd::daemon {

nlohmann::json log_line_view(const supervisor::LogLine& line) {
  return {{"seq", line.seq},
          {"time_ms", line.time_ms},
          {"instance", line.instance},
          {"stream", supervisor::to_string(line.stream)},
          {"line", line.text}};
}

LogForwarder::LogForwarder(PostToLoop post, const core::TimeSource& clock, std::string service,
                           std::size_t per_second, Sink sink)
    : post_(std::move(post)),
      clock_(clock),
      service_(std::move(service)),
      per_second_(per_second),
      sink_(std::move(sink)) {}

void LogForwarder::add(const supervisor::LogLine& line) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ < per_second_) {
    pending_.push_back(line);
    ++in_window_;
  } else {
    ++dropped_;
  }
  if (posted_) return;
  posted_ = true;
  post_([self = shared_from_this()] { self->flush(); });
}

void LogForwarder::flush() {
  std::vector<supervisor::LogLine> lines;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    lines.swap(pending_);
    std::swap(dropped, dropped_);
    posted_ = false;
  }
  sink_(service_, std::move(lines), dropped);
}

}  // namespace meshd::daemon
