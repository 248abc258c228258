#pragma once

// What the etcd client's tests share: running the event loop until an
// answer comes (bounded in time), and a client for a test's etcd.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "meshd/cluster/etcd_client.hpp"

namespace meshd::testing {

/// Runs `io` until `done()` or `limit` passes; answers done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(20)) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

/// Runs `io` for `duration` (to show that nothing is called meanwhile).
inline void run_for(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  run_until(
      io, [] { return false; }, duration);
}

/// Starts one request and waits for its answer; a request that never
/// answers within `limit` is a test failure reported as upstream_timeout
/// with "test:" in the message.
template <typename T>
core::Result<T> answer_of(boost::asio::io_context& io,
                          const std::function<void(cluster::EtcdClient::Callback<T>)>& start,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  std::optional<core::Result<T>> got;
  start([&got](core::Result<T> result) { got.emplace(std::move(result)); });
  if (!run_until(
          io, [&] { return got.has_value(); }, limit)) {
    return core::make_error(core::ErrorCode::upstream_timeout, "test: no answer in time");
  }
  return std::move(*got);
}

/// A client of the given endpoints with short deadlines (tests fail fast).
inline std::unique_ptr<cluster::EtcdClient> make_client(boost::asio::io_context& io,
                                                        cluster::EtcdOptions options) {
  options.request_timeout = std::chrono::milliseconds(2000);
  options.connect_timeout = std::chrono::milliseconds(500);
  auto client = cluster::EtcdClient::create(io, std::move(options));
  return client ? std::move(*client) : nullptr;
}

inline std::unique_ptr<cluster::EtcdClient> make_client(boost::asio::io_context& io,
                                                        std::vector<std::string> endpoints) {
  cluster::EtcdOptions options;
  options.endpoints = std::move(endpoints);
  return make_client(io, std::move(options));
}

}  // namespace meshd::testing
