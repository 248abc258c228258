#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace meshd::supervisor {

enum class LogStream { stdout_stream, stderr_stream };
const char* to_string(LogStream stream);

/// One line of a service's output, as the API shows it.
struct LogLine {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string instance;
  LogStream stream = LogStream::stdout_stream;
  std::string text;
};

/// The last lines a service printed, across its instances and both streams,
/// kept in memory for `GET .../logs` and live tails. Bounded in lines and
/// in line length. Fed raw chunks from the pipes, it splits them into lines
/// keeping a partial line per (instance, stream); of a big chunk only the
/// lines that can survive in the ring are copied, which is what lets meshd
/// keep up with a child that floods its stdout. Thread safe: the pipes are
/// read on meshd's log thread, the API reads on the control loop.
class LogTail {
 public:
  /// At most `lines_per_second` lines per second enter the tail (and reach
  /// live subscribers); the rest are counted and announced with a marker
  /// line, while the log files still get every byte. This bounds the cost
  /// per byte of a child that floods its output.
  explicit LogTail(std::size_t capacity = 1000, std::size_t max_line = 4096,
                   std::size_t lines_per_second = 2000);

  void feed(const std::string& instance, LogStream stream, const char* data, std::size_t size,
            std::int64_t time_ms);
  /// Adds a line written by meshd itself (e.g. "[meshd] 120 lines dropped").
  void note(const std::string& instance, LogStream stream, std::string text, std::int64_t time_ms);

  /// The newest `n` lines (oldest first), optionally of one stream.
  std::vector<LogLine> tail(std::size_t n, const LogStream* stream = nullptr) const;

  /// Lines skipped by the rate limit so far.
  std::uint64_t lines_skipped() const {
    std::lock_guard lock(mutex_);
    return skipped_total_;
  }
  std::uint64_t lines_seen() const {
    std::lock_guard lock(mutex_);
    return next_seq_ - 1;
  }
  /// Called for every line kept (live tails), on the thread that fed it;
  /// set before feeding starts.
  std::function<void(const LogLine&)> on_line;

 private:
  mutable std::mutex mutex_;
  void push(const std::string& instance, LogStream stream, std::string text, std::int64_t time_ms);

  bool admit(std::int64_t time_ms, const std::string& instance, LogStream stream);

  std::size_t capacity_;
  std::size_t max_line_;
  std::size_t lines_per_second_;
  std::int64_t second_ = -1;
  std::size_t this_second_ = 0;
  std::uint64_t skipped_ = 0;  // in the current burst, not yet announced
  std::uint64_t skipped_total_ = 0;
  std::deque<LogLine> lines_;
  std::map<std::pair<std::string, int>, std::string> partial_;
  std::uint64_t next_seq_ = 1;
};

}  // namespace meshd::supervisor
