#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "meshd/api/test_runner.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/core/event_bus.hpp"

namespace meshd::api {

/// The declared tests (SPEC 7) as the API offers them: POST
/// /api/v1/tests/run runs them through the gateway, publishes the outcome
/// as a "tests.run" event and keeps the run for GET /api/v1/tests (the
/// dashboard). Without a gateway there is nothing to run them through.
class DeclaredTests {
 public:
  DeclaredTests(const core::TimeSource& clock, core::EventBus& events)
      : clock_(clock), events_(events) {}

  /// The gateway listens at `gateway`: tests run through it from now on.
  void use_gateway(boost::asio::io_context& io, const config::Endpoint& gateway);
  /// Whether run() can run anything (a gateway is set).
  bool available() const { return runner_ != nullptr; }
  /// Runs `config`'s tests; `done` gets the run as GET /api/v1/tests shows
  /// it: {"ran", "started_ms", "passed", "failed", "results"}.
  void run(const config::Config& config, std::function<void(const nlohmann::json& run)> done);
  /// The last run, or {"ran": false, "results": []} before the first.
  nlohmann::json last_run() const;

 private:
  const core::TimeSource& clock_;
  core::EventBus& events_;
  std::unique_ptr<TestRunner> runner_;
  nlohmann::json last_run_;
};

}  // namespace meshd::api
