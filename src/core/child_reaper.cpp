#include "meshd/core/child_reaper.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>

namespace meshd::core {

ChildReaper::ChildReaper(boost::asio::io_context& io) : io_(io), signals_(io, SIGCHLD) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  arm();
  // A child may have exited before the signal_set existed.
  boost::asio::post(io_, [this] { reap(); });
}

ChildReaper::~ChildReaper() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void ChildReaper::arm() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    arm();
  });
}

void ChildReaper::reap() {
  // One SIGCHLD may stand for several exits: reap until none is left.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = handlers_.find(pid);
    if (it == handlers_.end()) {
      // An orphan reparented to us, or a child nobody watches (a failed
      // exec). Spawn and watch() run in one handler, so a watched child
      // cannot be reaped before its handler is in place.
      ++orphans_reaped_;
      continue;
    }
    auto handler = std::move(it->second);
    handlers_.erase(it);
    handler(status);
  }
}

void ChildReaper::watch(pid_t pid, ExitHandler on_exit) {
  handlers_[pid] = std::move(on_exit);
}

void ChildReaper::forget(pid_t pid) {
  handlers_.erase(pid);
}

}  // namespace meshd::core
