#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::api {

/// One declared test's outcome (SPEC section 7).
struct TestResult {
  std::string service;
  std::string name;
  bool passed = false;
  int status = 0;  // 0 when no response
  double latency_ms = 0;
  std::string reason;  // why it failed; empty when passed
  nlohmann::json to_json() const;
};

/// Runs the `tests:` of the config through the data path: each request goes
/// to http://<gateway>/<service><path>, so it exercises balancing, breakers
/// and retries like real traffic. Tests run concurrently; each has a
/// deadline (its max_latency, at least the service timeout, capped).
class TestRunner {
 public:
  using Done = std::function<void(std::vector<TestResult>)>;
  TestRunner(boost::asio::io_context& io, config::Endpoint gateway);
  /// Calls `done` on the loop once every test has finished.
  void run(const config::Config& config, Done done);

 private:
  boost::asio::io_context& io_;
  config::Endpoint gateway_;
};

}  // namespace meshd::api
