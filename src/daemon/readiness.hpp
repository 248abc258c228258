#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "meshd/supervisor/instance.hpp"

namespace meshd::daemon {

/// A readiness channel backed by a NOTIFY_SOCKET datagram socket; null
/// (and a warning logged) when the socket cannot be made.
std::unique_ptr<supervisor::ReadinessChannel> make_notify_channel(boost::asio::io_context& io,
                                                                  const std::string& name,
                                                                  std::function<void()> on_ready);

}  // namespace meshd::daemon
