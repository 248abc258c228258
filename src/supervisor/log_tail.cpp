#include "meshd/supervisor/log_tail.hpp"

#include <cstring>

namespace meshd::supervisor {

const char* to_string(LogStream stream) {
  return stream == LogStream::stdout_stream ? "stdout" : "stderr";
}

LogTail::LogTail(std::size_t capacity, std::size_t max_line, std::size_t lines_per_second)
    : capacity_(capacity), max_line_(max_line), lines_per_second_(lines_per_second) {}

bool LogTail::admit(std::int64_t time_ms, const std::string& instance, LogStream stream) {
  std::int64_t second = time_ms / 1000;
  if (second != second_) {
    second_ = second;
    this_second_ = 0;
    if (skipped_ > 0) {
      std::uint64_t n = skipped_;
      skipped_ = 0;
      push(instance, stream,
           "[meshd] " + std::to_string(n) + " lines not shown here (over " +
               std::to_string(lines_per_second_) + " lines/s); the log file has them all",
           time_ms);
      ++this_second_;
    }
  }
  if (this_second_ >= lines_per_second_) {
    ++skipped_;
    ++skipped_total_;
    return false;
  }
  ++this_second_;
  return true;
}

void LogTail::push(const std::string& instance, LogStream stream, std::string text,
                   std::int64_t time_ms) {
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.size() > max_line_) {
    text.resize(max_line_);
    text += "…";
  }
  if (lines_.size() == capacity_) lines_.pop_front();
  lines_.push_back(LogLine{next_seq_++, time_ms, instance, stream, std::move(text)});
  if (on_line) on_line(lines_.back());
}

void LogTail::note(const std::string& instance, LogStream stream, std::string text,
                   std::int64_t time_ms) {
  std::lock_guard lock(mutex_);
  push(instance, stream, std::move(text), time_ms);
}

void LogTail::feed(const std::string& instance, LogStream stream, const char* data,
                   std::size_t size, std::int64_t time_ms) {
  std::lock_guard lock(mutex_);
  auto& partial = partial_[{instance, static_cast<int>(stream)}];
  const char* end = data + size;
  if (this_second_ >= lines_per_second_ && time_ms / 1000 == second_) {
    // Over the limit for this second: count the lines without copying any.
    std::uint64_t lines = 0;
    for (const char* q = data;
         (q = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(end - q))));
         ++q)
      ++lines;
    skipped_ += lines;
    skipped_total_ += lines;
    partial.clear();
    return;
  }
  // Find where the lines worth keeping begin: walking back over at most
  // `capacity_` newlines. Everything before would be evicted anyway.
  const char* keep_from = data;
  std::size_t newlines = 0;
  for (const char* p = end; p > data;) {
    --p;
    if (*p == '\n' && ++newlines > capacity_) {
      keep_from = p + 1;
      partial.clear();  // its line is older than everything kept
      break;
    }
  }
  const char* p = keep_from;
  while (p < end) {
    const char* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) {
      if (partial.size() < max_line_) partial.append(p, std::min<std::size_t>(end - p, max_line_));
      return;
    }
    if (!admit(time_ms, instance, stream)) {
      partial.clear();
    } else if (partial.empty()) {
      push(instance, stream, std::string(p, std::min<std::size_t>(nl - p, max_line_ + 1)), time_ms);
    } else {
      partial.append(p, std::min<std::size_t>(nl - p, max_line_));
      push(instance, stream, std::move(partial), time_ms);
      partial.clear();
    }
    p = nl + 1;
  }
}

std::vector<LogLine> LogTail::tail(std::size_t n, const LogStream* stream) const {
  std::lock_guard lock(mutex_);
  std::vector<LogLine> out;
  for (auto it = lines_.rbegin(); it != lines_.rend() && out.size() < n; ++it)
    if (!stream || it->stream == *stream) out.push_back(*it);
  return {out.rbegin(), out.rend()};
}

}  // namespace meshd::supervisor
