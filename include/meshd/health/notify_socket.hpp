#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <functional>
#include <memory>
#include <string>

namespace meshd::health {

/// The receiving end of systemd's notify protocol for one instance: an
/// abstract-namespace datagram socket whose name is handed to the child as
/// NOTIFY_SOCKET ("@meshd/..."). Abstract names need no file and vanish
/// with the socket, so nothing is left behind in data_dir.
class NotifySocket {
 public:
  /// Called with each KEY=VALUE assignment received, e.g. ("READY", "1").
  using OnMessage = std::function<void(const std::string& key, const std::string& value)>;

  /// Binds a fresh socket; throws boost::system::system_error on failure.
  NotifySocket(boost::asio::io_context& io, const std::string& name, OnMessage on_message);
  ~NotifySocket();

  /// The value for NOTIFY_SOCKET: '@' followed by the abstract name.
  std::string address() const { return "@" + name_; }

  struct State;  // the socket and buffer, shared with the pending receive

 private:
  void receive();

  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace meshd::health
