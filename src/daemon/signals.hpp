#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <memory>

namespace meshd::daemon {

/// What the operator's signals mean (docs/reload.md, docs/cli.md):
/// SIGHUP reloads the config, the first SIGTERM or SIGINT shuts down
/// gracefully, a second one kills everything now, SIGUSR1 reopens the
/// access log (docs/operations.md). SIGPIPE is ignored (a client that hangs
/// up is an error_code, not a death).
struct SignalActions {
  /// SIGHUP, unless a shutdown has begun.
  std::function<void()> reload;
  /// The first SIGTERM/SIGINT; `sig` for the log line.
  std::function<void(int sig)> shut_down;
  /// Every later SIGTERM/SIGINT.
  std::function<void(int sig)> kill_now;
  /// SIGUSR1, also during a shutdown: an external logrotate renamed the logs.
  std::function<void()> reopen_logs;
};

/// Waits for SIGTERM, SIGINT, SIGHUP and SIGUSR1 on the control loop and calls the
/// matching action, until destroyed or the loop stops.
class SignalHandler {
 public:
  SignalHandler(boost::asio::io_context& io, SignalActions actions);
  ~SignalHandler();
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;

 private:
  void wait();

  boost::asio::signal_set signals_;
  SignalActions actions_;
  int stop_signals_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace meshd::daemon
