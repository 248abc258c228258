#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>

namespace meshd::demo {
namespace {

std::timed_mutex stdout_mutex;  // timed: see exit_process
std::mutex stderr_mutex;
std::atomic<std::uint64_t> flood_lines{0};
std::atomic<bool> flood_enabled{false};
std::string flood_name;  // set once, before flood_enabled

// Calls on_written with each piece the kernel accepted.
template <typename OnWritten>
bool write_all(int fd, std::string_view data, OnWritten on_written) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    on_written(data.substr(0, static_cast<std::size_t>(n)));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool write_all(int fd, std::string_view data) {
  return write_all(fd, data, [](std::string_view) {});
}

template <typename Mutex>
void locked_line(Mutex& mutex, int fd, std::string_view line) {
  std::string text(line);
  text += '\n';
  std::lock_guard lock(mutex);
  write_all(fd, text);
}

}  // namespace

void out_line(std::string_view line) {
  locked_line(stdout_mutex, STDOUT_FILENO, line);
}

void err_line(std::string_view line) {
  locked_line(stderr_mutex, STDERR_FILENO, line);
}

bool flood_block(std::string_view block) {
  std::lock_guard lock(stdout_mutex);
  return write_all(STDOUT_FILENO, block, [](std::string_view written) {
    flood_lines.fetch_add(
        static_cast<std::uint64_t>(std::count(written.begin(), written.end(), '\n')));
  });
}

void enable_flood_report(std::string_view name) {
  flood_name = name;
  flood_enabled.store(true);
}

void add_flood_lines(std::uint64_t lines) {
  flood_lines.fetch_add(lines);
}

void exit_process(int code) {
  if (flood_enabled.load()) {
    // Holding the stdout lock means no flood write is half done, so the
    // count is exact and nothing more reaches stdout. But the flood thread
    // may sit on the lock in a write to a pipe nobody drains: then report
    // what is known rather than hang.
    std::unique_lock lock(stdout_mutex, std::defer_lock);
    static_cast<void>(lock.try_lock_for(std::chrono::milliseconds(200)));
    write_all(STDERR_FILENO,
              flood_name + " flood wrote " + std::to_string(flood_lines.load()) + " lines\n");
    ::_exit(code);
  }
  ::_exit(code);
}

}  // namespace meshd::demo
