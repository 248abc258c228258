#include "meshd/api/declared_tests.hpp"

#include <string>
#include <utility>
#include <vector>

namespace meshd::api {

void DeclaredTests::use_gateway(boost::asio::io_context& io, const config::Endpoint& gateway) {
  runner_ = std::make_unique<TestRunner>(io, gateway);
}

void DeclaredTests::run(const config::Config& config,
                        std::function<void(const nlohmann::json& run)> done) {
  auto started = clock_.wall_now();
  runner_->run(config, [this, started, done = std::move(done)](std::vector<TestResult> results) {
    nlohmann::json list = nlohmann::json::array();
    int passed = 0;
    for (const auto& r : results) {
      list.push_back(r.to_json());
      passed += r.passed;
    }
    int failed = static_cast<int>(results.size()) - passed;
    events_.publish("tests.run", "", "",
                    "declared tests: " + std::to_string(passed) + " passed, " +
                        std::to_string(failed) + " failed",
                    {{"passed", passed}, {"failed", failed}});
    last_run_ = {{"ran", true},
                 {"started_ms", core::to_unix_ms(started)},
                 {"passed", passed},
                 {"failed", failed},
                 {"results", list}};
    done(last_run_);
  });
}

nlohmann::json DeclaredTests::last_run() const {
  if (last_run_.is_null()) return {{"results", nlohmann::json::array()}, {"ran", false}};
  return last_run_;
}

}  // namespace meshd::api
