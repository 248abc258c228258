#include "traffic_views.hpp"

#include <algorithm>

#include "meshd/breaker/breaker_state.hpp"

namespace meshd::daemon {

nlohmann::json metrics_summary(const gateway::RouteTable& routes, core::TimePoint now) {
  nlohmann::json services = nlohmann::json::object();
  double total_rps = 0, total_errors = 0, p99 = 0;
  for (const auto& [name, route] : routes.routes()) {
    auto sum = route->stats().last_second(now);
    services[name] = {{"rps", sum.rps}, {"error_rate", sum.error_rate}, {"p99_ms", sum.p99_ms}};
    total_rps += sum.rps;
    total_errors += sum.error_rate * sum.rps;
    p99 = std::max(p99, sum.p99_ms);
  }
  return nlohmann::json{{"services", services},
                        {"gateway",
                         {{"rps", total_rps},
                          {"error_rate", total_rps > 0 ? total_errors / total_rps : 0.0},
                          {"p99_ms", p99}}}};
}

nlohmann::json breakers_view(const gateway::RouteTable& routes, core::TimePoint now) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, route] : routes.routes())
    for (const auto& id : route->host_ids())
      list.push_back({{"service", name},
                      {"instance", id},
                      {"state", breaker::to_string(route->breaker(id)->state(now))}});
  return nlohmann::json{{"breakers", list}};
}

}  // namespace meshd::daemon
