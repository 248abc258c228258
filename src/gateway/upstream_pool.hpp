#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "meshd/core/clock.hpp"

namespace meshd::gateway {

/// One connection to an instance, reusable across requests.
struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::io_context& io) : stream(io.get_executor()) {}
  boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type,
                             boost::beast::unlimited_rate_policy>
      stream;
  boost::beast::flat_buffer buffer;
  std::string key;  // "address:port"
  core::TimePoint idle_since{};
  std::uint64_t requests = 0;
};

/// Idle keep-alive connections per instance (nginx's upstream keepalive):
/// most recently used first, so a burst reuses warm connections and the
/// rest age out.
class UpstreamPool {
 public:
  UpstreamPool(std::size_t max_idle_per_key, core::Duration max_idle)
      : max_idle_per_key_(max_idle_per_key), max_idle_(max_idle) {}

  /// An idle connection to `key`, or null. One idle for more than a second
  /// is peeked at first and dropped if the peer closed it meanwhile; a
  /// fresher one is trusted (a stale one costs one uncounted retry), which
  /// saves a system call on the hot path.
  std::unique_ptr<UpstreamConnection> take(const std::string& key, core::TimePoint now);
  /// Returns a connection after a complete exchange.
  void put(std::unique_ptr<UpstreamConnection> connection, core::TimePoint now);
  /// Closes connections idle longer than the limit.
  void sweep(core::TimePoint now);
  void clear();
  std::size_t idle() const;

 private:
  std::size_t max_idle_per_key_;
  core::Duration max_idle_;
  std::map<std::string, std::deque<std::unique_ptr<UpstreamConnection>>> idle_;
};

}  // namespace meshd::gateway
