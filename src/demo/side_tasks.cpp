#include "side_tasks.hpp"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "output.hpp"

namespace meshd::demo {
namespace {

void log_every(const Options& options) {
  auto next = std::chrono::steady_clock::now();
  for (std::uint64_t n = 1;; ++n) {
    const std::string line = options.name + " log line " + std::to_string(n);
    out_line(line);
    if (n % 2 == 0) err_line(line + " (stderr)");
    next += *options.log_every;  // sleep_until keeps the cadence from drifting
    std::this_thread::sleep_until(next);
  }
}

void flood(const Options& options) {
  enable_flood_report(options.name);
  // Blocks of at most PIPE_BUF bytes: a pipe takes each in one piece, so the
  // count never lags behind what a reader has seen. A bigger write can be
  // half read while the call still blocks, its lines not yet counted.
  std::string block;
  std::string line;
  for (std::uint64_t n = 1;;) {
    block.clear();
    for (;; ++n) {
      line = options.name + " flood line " + std::to_string(n) +
             " the quick brown fox jumps over the lazy dog\n";
      if (!block.empty() && block.size() + line.size() > PIPE_BUF) break;
      block += line;
    }
    if (!flood_block(block)) {
      err_line(options.name + " stdout is closed, flood stopped");
      return;
    }
  }
}

}  // namespace

pid_t spawn_grandchild() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();  // until someone kills the group
  }
  if (pid < 0) {
    err_line(std::string("cannot fork the grandchild: ") + std::strerror(errno));
    exit_process(1);
  }
  return pid;
}

void start_signal_thread(const Options& options) {
  if (options.ignore_sigterm) {
    // The grandchild (forked earlier) keeps SIG_IGN. Here the signal is
    // taken back from SIG_IGN so that sigwait can see it and say so.
    std::signal(SIGTERM, SIG_DFL);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, &options] {
    for (;;) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      const char* what = signal == SIGTERM ? "SIGTERM" : "SIGINT";
      if (signal == SIGTERM && options.ignore_sigterm) {
        err_line(options.name + " ignoring SIGTERM (--ignore-sigterm)");
        continue;
      }
      err_line(options.name + " stopping on " + what);
      exit_process(0);
    }
  }).detach();
}

void start_exit_timers(const Options& options, std::chrono::steady_clock::time_point started) {
  if (options.crash_after) {
    std::thread([&options, started] {
      std::this_thread::sleep_until(started + *options.crash_after);
      err_line(options.name + " crashing (--crash-after)");
      exit_process(3);
    }).detach();
  }
  if (options.exit_after) {
    std::thread([&options, started] {
      std::this_thread::sleep_until(started + *options.exit_after);
      out_line(options.name + " done, exiting with code " + std::to_string(options.exit_code));
      exit_process(options.exit_code);
    }).detach();
  }
}

void start_chatter(const Options& options) {
  if (options.log_every) std::thread(log_every, std::cref(options)).detach();
  if (options.flood_stdout) std::thread(flood, std::cref(options)).detach();
}

void notify_ready(const Options& options) {
  const char* socket_name = std::getenv("NOTIFY_SOCKET");
  if (socket_name == nullptr || *socket_name == '\0') {
    err_line(options.name + " --notify: $NOTIFY_SOCKET is not set, not notifying");
    return;
  }
  const std::string name(socket_name);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() >= sizeof address.sun_path) {
    err_line(options.name + " --notify: $NOTIFY_SOCKET is too long");
    return;
  }
  std::memcpy(address.sun_path, name.data(), name.size());
  if (name.front() == '@') address.sun_path[0] = '\0';  // abstract: no NUL after the name
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                             (name.front() == '@' ? 0 : 1));
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const std::string message = "READY=1";
  if (fd < 0 || ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&address), length) < 0) {
    err_line(options.name + " --notify: cannot send to " + name + ": " + std::strerror(errno));
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace meshd::demo
