#include "meshd/config/to_json.hpp"

#include <algorithm>
#include <cctype>

#include "meshd/config/values.hpp"

namespace meshd::config {
namespace {

using nlohmann::json;

std::string dur(Duration d) {
  return format_duration(d);
}
std::string pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", share * 100.0);
  return buf;
}

json health_json(const HealthSpec& h) {
  json j = {{"type", to_string(h.type)},
            {"interval", dur(h.interval)},
            {"timeout", dur(h.timeout)},
            {"jitter", dur(h.jitter)},
            {"healthy_threshold", h.healthy_threshold},
            {"unhealthy_threshold", h.unhealthy_threshold},
            {"start_period", dur(h.start_period)},
            {"unhealthy_interval", dur(h.unhealthy_interval)}};
  if (h.type == CheckType::http) {
    j["path"] = h.path;
    j["expect_status"] =
        std::to_string(h.expect_status.low) + "-" + std::to_string(h.expect_status.high);
    if (!h.body_contains.empty()) j["body_contains"] = h.body_contains;
  }
  if (h.type == CheckType::exec) j["command"] = h.command;
  if (h.type == CheckType::ttl) j["ttl"] = dur(h.ttl);
  return j;
}

json traffic_json(const ServiceSpec& s) {
  const auto& cb = s.circuit_breaker;
  json breaker = {{"enabled", cb.enabled},
                  {"failure_rate", pct(cb.failure_rate)},
                  {"slow_call_rate", pct(cb.slow_call_rate)},
                  {"slow_call_duration", dur(cb.slow_call_duration)},
                  {"minimum_calls", cb.minimum_calls},
                  {"open_for", dur(cb.open_for)},
                  {"max_open_for", dur(cb.max_open_for)},
                  {"half_open_calls", cb.half_open_calls},
                  {"max_half_open", dur(cb.max_half_open)}};
  if (cb.window_kind == CircuitBreakerSpec::WindowKind::count)
    breaker["window"] = cb.window_calls;
  else
    breaker["window"] = dur(cb.window_time);
  const auto& od = s.outlier_detection;
  json grpc_methods = s.retry.grpc_methods;
  json retry_on = json::array();
  if (s.retry.on & retry_connect_failure) retry_on.push_back("connect-failure");
  if (s.retry.on & retry_reset) retry_on.push_back("reset");
  if (s.retry.on & retry_5xx) retry_on.push_back("5xx");
  if (s.retry.on & retry_timeout) retry_on.push_back("timeout");
  json j = {{"load_balancer", to_string(s.load_balancer)},
            {"weight", s.weight},
            {"slow_start", dur(s.slow_start)},
            {"panic_threshold", pct(s.panic_threshold)},
            {"circuit_breaker", breaker},
            {"outlier_detection",
             {{"enabled", od.enabled},
              {"consecutive_failures", od.consecutive_failures},
              {"ejection_time", dur(od.ejection_time)},
              {"max_ejection_time", dur(od.max_ejection_time)},
              {"max_ejected", pct(od.max_ejected)}}},
            {"retry",
             {{"attempts", s.retry.attempts},
              {"backoff", dur(s.retry.backoff)},
              {"on", retry_on},
              {"budget", pct(s.retry.budget)},
              {"grpc_methods", grpc_methods}}},
            {"timeout", dur(s.timeout)},
            {"idle_timeout", dur(s.idle_timeout)},
            {"protocol", to_string(s.protocol)},
            {"rate_limit", nullptr}};
  if (const auto& rl = s.rate_limit) {
    std::string key = rl->key == RateLimitSpec::Key::header ? "header:" + rl->header
                      : rl->key == RateLimitSpec::Key::none ? "none"
                                                            : "client_ip";
    j["rate_limit"] = {
        {"rps", rl->rps}, {"burst", rl->burst}, {"key", key}, {"max_keys", rl->max_keys}};
  }
  if (s.load_balancer == LoadBalancerPolicy::consistent_hash) j["hash_key"] = to_string(s.hash_key);
  j["locality"] = to_string(s.locality);
  return j;
}

json rollout_json(const RolloutSpec& r) {
  return {{"min_healthy", dur(r.min_healthy)},
          {"deadline", dur(r.deadline)},
          {"max_parallel", r.max_parallel},
          {"max_unavailable", r.max_unavailable},
          {"canary", r.canary},
          {"auto_revert", r.auto_revert}};
}

// In the file's own spelling: a name alone, or the map form when nodes are listed.
json placement_json(const ServiceSpec& s) {
  if (s.placement_nodes.empty()) return to_string(s.placement);
  return {{"singleton", s.placement == Placement::singleton}, {"nodes", s.placement_nodes}};
}

// The settings a service created at run time takes from `defaults:`.
json defaults_json(const ServiceSpec& d) {
  json j = traffic_json(d);
  j["health"] = health_json(d.health);
  j["tags"] = d.tags;
  j["metadata"] = d.metadata;
  return j;
}

json cluster_json(const ClusterSpec& c) {
  json tls = nullptr;
  if (c.tls.enabled() || !c.tls.key.empty())
    tls = {{"ca", c.tls.ca}, {"cert", c.tls.cert}, {"key", c.tls.key}};
  return {{"etcd", c.etcd}, {"prefix", c.prefix}, {"lease_ttl", dur(c.lease_ttl)}, {"tls", tls}};
}

}  // namespace

bool looks_secret(const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  for (const char* word : {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "PRIVATE"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

nlohmann::json to_json(const Config& config, bool redact) {
  json services = json::object();
  for (const auto& s : config.services) {
    json svc;
    if (s.managed()) {
      json env = json::object();
      for (const auto& [k, v] : s.env) env[k] = redact && looks_secret(k) ? "<redacted>" : v;
      svc = {{"command", s.command},
             {"cwd", s.cwd},
             {"env", env},
             {"replicas", s.replicas},
             {"shutdown", {{"signal", s.shutdown.signal}, {"timeout", dur(s.shutdown.timeout)}}},
             {"restart",
              {{"policy", to_string(s.restart.policy)},
               {"backoff",
                {{"initial", dur(s.restart.backoff.initial)}, {"max", dur(s.restart.backoff.max)}}},
               {"max_restarts", s.restart.max_restarts},
               {"window", dur(s.restart.window)},
               {"reset_after", dur(s.restart.reset_after)}}},
             {"logs", {{"max_size", format_size(s.logs.max_size)}, {"keep", s.logs.keep}}}};
      if (s.port) svc["port"] = *s.port;
    } else {
      json addresses = json::array();
      for (const auto& a : s.addresses) addresses.push_back(a.to_string());
      svc["address"] = addresses;
    }
    json deps = json::array();
    for (const auto& d : s.depends_on)
      deps.push_back({{"service", d.service},
                      {"condition", to_string(d.condition)},
                      {"required", d.required}});
    svc["depends_on"] = deps;
    svc["health"] = health_json(s.health);
    svc.update(traffic_json(s));
    if (s.managed()) svc["placement"] = placement_json(s);
    svc["tags"] = s.tags;
    svc["metadata"] = s.metadata;
    json tests = json::array();
    for (const auto& t : s.tests) {
      json tj = {
          {"name", t.name},
          {"request",
           {{"method", t.method}, {"path", t.path}, {"headers", t.headers}, {"body", t.body}}},
          {"expect", {{"status", t.expect_status}, {"body_contains", t.body_contains}}}};
      if (t.max_latency) tj["expect"]["max_latency"] = dur(*t.max_latency);
      tests.push_back(tj);
    }
    svc["tests"] = tests;
    svc["rollout"] = rollout_json(s.rollout);
    services[s.name] = svc;
  }
  const auto& m = config.mesh;
  json mesh = {{"listen", m.listen.to_string()},
               {"gateway", m.gateway ? json(m.gateway->to_string()) : json(nullptr)},
               {"data_dir", m.data_dir},
               {"api_token", m.api_token.empty() ? "" : (redact ? "<redacted>" : m.api_token)},
               {"auth_reads", m.auth_reads},
               {"cors_origins", m.cors_origins},
               {"log_level", m.log_level},
               {"log_format", m.log_format},
               {"node", m.node},
               {"advertise", m.advertise},
               {"cluster", cluster_json(m.cluster)},
               {"access_log", m.access_log.enabled() ? json{{"path", m.access_log.path},
                                                            {"format", m.access_log.format},
                                                            {"max_size", m.access_log.max_size},
                                                            {"keep", m.access_log.keep}}
                                                     : json(nullptr)},
               {"gateway_threads", m.gateway_threads}};
  return {{"version", config.version},
          {"source", config.source_path},
          {"environment", config.environment},
          {"mesh", mesh},
          {"defaults", defaults_json(config.defaults)},
          {"services", services}};
}

}  // namespace meshd::config
