#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "input_buffer.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::gateway {

/// One connection to an instance, reusable across requests.
struct UpstreamConnection {
  static constexpr std::size_t kBufferSize = 64 * 1024;  // a response header may be this large
  explicit UpstreamConnection(boost::asio::io_context& io)
      : socket(io.get_executor()), buffer(kBufferSize) {}
  boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>
      socket;
  InputBuffer buffer;
  std::string key;  // "address:port"
  core::TimePoint idle_since{};
  std::uint64_t requests = 0;
};

/// Idle keep-alive connections per instance (nginx's upstream keepalive):
/// most recently used first, so a burst reuses warm connections and the
/// rest age out. Each instance's list is a stack (newest at the back), so
/// taking and returning a connection allocates nothing.
class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle_per_key, core::Duration max_idle)
      : max_idle_per_key_(max_idle_per_key), max_idle_(max_idle) {}

  /// An idle connection to `key`, or null. One idle for more than a second
  /// is peeked at first and dropped if the peer closed it meanwhile; a
  /// fresher one is trusted (a stale one costs one uncounted retry), which
  /// saves a system call on the hot path.
  std::unique_ptr<UpstreamConnection> take(std::string_view key, core::TimePoint now);
  /// Returns a connection after a complete exchange.
  void put(std::unique_ptr<UpstreamConnection> connection, core::TimePoint now);
  /// Closes connections idle longer than the limit.
  void sweep(core::TimePoint now);
  void clear();
  std::size_t idle() const;

 private:
  std::size_t max_idle_per_key_;
  core::Duration max_idle_;
  std::map<std::string, std::vector<std::unique_ptr<UpstreamConnection>>, std::less<>> idle_;
};

}  // namespace meshd::gateway
