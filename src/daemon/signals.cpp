#include "signals.hpp"

#include <signal.h>

namespace meshd::daemon {

SignalHandler::SignalHandler(boost::asio::io_context& io, SignalActions actions)
    : signals_(io, SIGTERM, SIGINT, SIGHUP), actions_(std::move(actions)) {
  signals_.add(SIGUSR1);  // signal_set's constructor takes at most three
  ::signal(SIGPIPE, SIG_IGN);
  wait();
}

SignalHandler::~SignalHandler() {
  alive_.reset();
}

void SignalHandler::wait() {
  signals_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec, int sig) {
        if (ec || alive.expired()) return;
        if (sig == SIGHUP) {
          if (stop_signals_ == 0 && actions_.reload) actions_.reload();
        } else if (sig == SIGUSR1) {
          if (actions_.reopen_logs) actions_.reopen_logs();
        } else if (++stop_signals_ == 1) {
          if (actions_.shut_down) actions_.shut_down(sig);
        } else {
          if (actions_.kill_now) actions_.kill_now(sig);
        }
        wait();
      });
}

}  // namespace meshd::daemon
