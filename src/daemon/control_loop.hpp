#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>

namespace meshd::daemon {

/// The control loop's io_context, with a way to destroy the handlers still
/// queued on it (and the operations still pending, whose handlers go with
/// them) before the parts of meshd that those handlers reach are destroyed.
///
/// A pending handler owns what it captured: a health probe's connect holds
/// the probe, whose deadline is a core::Timer on the AsioScheduler; a
/// gateway session's read holds the session. An io_context destroys such
/// handlers only in its own destructor, which, for a member declared before
/// the scheduler, runs after the scheduler is gone: the probe's Timer then
/// cancels on freed memory. Daemon::State's destructor calls
/// destroy_pending_handlers() first, while everything still lives.
class ControlLoop : public boost::asio::io_context {
 public:
  ControlLoop() : boost::asio::io_context(1) {}

  /// Shuts down every service of the loop: operations still pending are
  /// abandoned and every queued handler is destroyed now, without being
  /// called. I/O objects may still be closed and destroyed afterwards (as
  /// in the io_context's own destructor, which shuts down the same way and
  /// destroys any handler queued since); the loop is not run again.
  void destroy_pending_handlers() { shutdown(); }
};

}  // namespace meshd::daemon
