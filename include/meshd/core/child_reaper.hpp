#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <unordered_map>

namespace meshd::core {

/// Reaps every child of meshd and tells whoever watches a pid how it ended.
///
/// SIGCHLD arrives through the event loop (Asio's signal_set), so an exit is
/// seen as soon as the loop is free, with no polling. meshd is a child
/// subreaper, so orphaned grandchildren of services are reparented to it;
/// they are reaped here too, which is what keeps zombies from piling up.
class ChildReaper {
 public:
  using ExitHandler = std::function<void(int wait_status)>;

  /// Also makes this process a child subreaper (PR_SET_CHILD_SUBREAPER).
  explicit ChildReaper(boost::asio::io_context& io);
  ~ChildReaper();

  /// Calls `on_exit` once when `pid` exits. Call it in the same handler that
  /// spawned `pid`, before returning to the loop.
  void watch(pid_t pid, ExitHandler on_exit);
  /// Drops the handler for `pid` (the child is still reaped).
  void forget(pid_t pid);
  /// Children being watched.
  std::size_t watched() const { return handlers_.size(); }
  /// Orphans (not watched) reaped so far.
  std::uint64_t orphans_reaped() const { return orphans_reaped_; }

 private:
  void arm();
  void reap();

  boost::asio::io_context& io_;
  boost::asio::signal_set signals_;
  std::unordered_map<pid_t, ExitHandler> handlers_;
  std::uint64_t orphans_reaped_ = 0;
};

}  // namespace meshd::core
