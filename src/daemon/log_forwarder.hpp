#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "meshd/core/clock.hpp"
#include "meshd/supervisor/log_tail.hpp"

namespace meshd::daemon {

/// Hands `fn` to the control loop from any thread (boost::asio::post on
/// the daemon's io_context; a test's fake scheduler).
using PostToLoop = std::function<void(std::function<void()> fn)>;

/// A log line as the WebSocket "logs:<service>" topic sends it.
nlohmann::json log_line_view(const supervisor::LogLine& line);

/// Carries one service's new log lines from the log thread, where LogTail
/// calls on_line, to the control loop: batched (one post per burst) and
/// limited to so many lines a second, the rest counted, so that a chatty
/// service cannot flood the loop or the clients.
class LogForwarder : public std::enable_shared_from_this<LogForwarder> {
 public:
  /// On the control loop: the lines of one burst and how many were
  /// dropped since the last call.
  using Sink = std::function<void(const std::string& service, std::vector<supervisor::LogLine>,
                                  std::uint64_t dropped)>;

  LogForwarder(PostToLoop post, const core::TimeSource& clock, std::string service,
               std::size_t per_second, Sink sink);

  /// On the log thread.
  void add(const supervisor::LogLine& line);

 private:
  void flush();  // on the control loop

  PostToLoop post_;
  const core::TimeSource& clock_;
  std::string service_;
  std::size_t per_second_;
  Sink sink_;
  std::mutex mutex_;
  std::vector<supervisor::LogLine> pending_;
  std::uint64_t dropped_ = 0;
  core::TimePoint window_start_{};
  std::size_t in_window_ = 0;
  bool posted_ = false;
};

}  // namespace meshd::daemon
