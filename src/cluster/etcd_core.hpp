#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "etcd_connection.hpp"
#include "etcd_settings.hpp"

namespace meshd::cluster {

/// A request in flight that the client must silence and close when it is
/// destroyed first.
class EtcdAbandonable {
 public:
  virtual ~EtcdAbandonable() = default;
  /// Closes its connection; no callback is called afterwards.
  virtual void abandon() = 0;
};

/// The mutable state of one client, shared by its requests through a
/// weak_ptr: which member the next request goes to, the idle keep-alive
/// connections, and the requests in flight (abandoned when it goes).
class EtcdCore {
 public:
  EtcdCore(boost::asio::io_context& io, std::shared_ptr<const EtcdSettings> settings);
  EtcdCore(const EtcdCore&) = delete;
  EtcdCore& operator=(const EtcdCore&) = delete;
  ~EtcdCore();

  boost::asio::io_context& io() { return io_; }
  const std::shared_ptr<const EtcdSettings>& settings() const { return settings_; }

  /// The member the next request goes to.
  std::size_t current() const { return current_; }
  /// A connection to `index` was made: requests go there from now on.
  void succeeded(std::size_t index);
  /// A request to `index` timed out or lost its connection: the next one
  /// goes to the member after it (round robin), on fresh connections.
  void failed(std::size_t index);

  /// An idle connection to the current member, or null.
  std::shared_ptr<EtcdConnection> take_idle();
  /// A connection whose answer was read whole and that may be kept.
  void give_back(std::shared_ptr<EtcdConnection> connection);

  std::uint64_t track(std::weak_ptr<EtcdAbandonable> operation);
  void untrack(std::uint64_t id);

 private:
  void drop_idle();

  boost::asio::io_context& io_;
  std::shared_ptr<const EtcdSettings> settings_;
  std::size_t current_ = 0;
  std::vector<std::shared_ptr<EtcdConnection>> idle_;
  std::unordered_map<std::uint64_t, std::weak_ptr<EtcdAbandonable>> live_;
  std::uint64_t next_id_ = 1;
};

}  // namespace meshd::cluster
