#include "schema.hpp"

#include <vector>

#include "field_error.hpp"
#include "suggest.hpp"

namespace meshd::config::detail {

namespace {

constexpr Field backoff_fields[] = {{"initial"}, {"max"}};
constexpr Block backoff_block{backoff_fields};

constexpr Field restart_fields[] = {{"policy"},
                                    {"backoff", Shape::block, &backoff_block},
                                    {"max_restarts"},
                                    {"window"},
                                    {"reset_after"}};
constexpr Block restart_block{restart_fields};

constexpr Field shutdown_fields[] = {{"signal"}, {"timeout"}};
constexpr Block shutdown_block{shutdown_fields};

constexpr Field logs_fields[] = {{"max_size"}, {"keep"}};
constexpr Block logs_block{logs_fields};

constexpr Field dependency_fields[] = {{"service"}, {"condition"}, {"required"}};
constexpr Block dependency_block{dependency_fields};

constexpr Field health_fields[] = {{"type"},
                                   {"path"},
                                   {"expect_status"},
                                   {"body_contains"},
                                   {"command"},
                                   {"ttl"},
                                   {"interval"},
                                   {"timeout"},
                                   {"jitter"},
                                   {"healthy_threshold"},
                                   {"unhealthy_threshold"},
                                   {"start_period"},
                                   {"unhealthy_interval"}};
constexpr Block health_block{health_fields};

constexpr Field breaker_fields[] = {
    {"enabled"},         {"failure_rate"},  {"slow_call_rate"}, {"slow_call_duration"},
    {"window"},          {"minimum_calls"}, {"open_for"},       {"max_open_for"},
    {"half_open_calls"}, {"max_half_open"}};
constexpr Block breaker_block{breaker_fields};

constexpr Field outlier_fields[] = {{"enabled"},
                                    {"consecutive_failures"},
                                    {"ejection_time"},
                                    {"max_ejection_time"},
                                    {"max_ejected"}};
constexpr Block outlier_block{outlier_fields};

constexpr Field retry_fields[] = {{"attempts"}, {"backoff"}, {"on"}, {"budget"}, {"grpc_methods"}};
constexpr Block retry_block{retry_fields};

constexpr Field rate_limit_fields[] = {{"rps"}, {"burst"}, {"key"}, {"max_keys"}};
constexpr Block rate_limit_block{rate_limit_fields};

constexpr Field access_log_fields[] = {{"path"}, {"format"}, {"max_size"}, {"keep"}};
constexpr Block access_log_block{access_log_fields};

constexpr Field request_fields[] = {{"method"}, {"path"}, {"headers"}, {"body"}};
constexpr Block request_block{request_fields};

constexpr Field expect_fields[] = {{"status"}, {"body_contains"}, {"max_latency"}};
constexpr Block expect_block{expect_fields};

constexpr Field test_fields[] = {
    {"name"}, {"request", Shape::block, &request_block}, {"expect", Shape::block, &expect_block}};
constexpr Block test_block{test_fields};

constexpr Field rollout_fields[] = {{"min_healthy"},     {"deadline"}, {"max_parallel"},
                                    {"max_unavailable"}, {"canary"},   {"auto_revert"}};
constexpr Block rollout_block{rollout_fields};

constexpr Field placement_fields[] = {{"singleton"}, {"nodes"}};
constexpr Block placement_block{placement_fields};

constexpr Field service_fields[] = {
    {"command"},
    {"cwd"},
    {"env"},
    {"replicas"},
    {"port"},
    {"shutdown", Shape::block, &shutdown_block},
    {"restart", Shape::block, &restart_block},
    {"logs", Shape::block, &logs_block},
    {"depends_on", Shape::list_of_blocks, &dependency_block},
    {"address"},
    {"health", Shape::block, &health_block},
    {"load_balancer"},
    {"weight"},
    {"hash_key"},
    {"slow_start"},
    {"panic_threshold"},
    {"circuit_breaker", Shape::block, &breaker_block},
    {"outlier_detection", Shape::block, &outlier_block},
    {"retry", Shape::block, &retry_block},
    {"timeout"},
    {"idle_timeout"},
    {"protocol"},
    {"rate_limit", Shape::block, &rate_limit_block},
    {"tags"},
    {"metadata"},
    {"tests", Shape::list_of_blocks, &test_block},
    {"rollout", Shape::block, &rollout_block},
    {"placement", Shape::block, &placement_block},
    {"locality"},
};
constexpr Block service_block{service_fields};

constexpr Field cluster_tls_fields[] = {{"ca"}, {"cert"}, {"key"}};
constexpr Block cluster_tls_block{cluster_tls_fields};

constexpr Field cluster_fields[] = {
    {"etcd"}, {"prefix"}, {"lease_ttl"}, {"tls", Shape::block, &cluster_tls_block}};
constexpr Block cluster_block{cluster_fields};

constexpr Field mesh_fields[] = {{"listen"},
                                 {"gateway"},
                                 {"data_dir"},
                                 {"api_token"},
                                 {"auth_reads"},
                                 {"cors_origins"},
                                 {"log_level"},
                                 {"log_format"},
                                 {"node"},
                                 {"advertise"},
                                 {"cluster", Shape::block, &cluster_block},
                                 {"access_log", Shape::block, &access_log_block},
                                 {"gateway_threads"}};
constexpr Block mesh_block{mesh_fields};

constexpr Field environment_fields[] = {{"mesh", Shape::block, &mesh_block},
                                        {"defaults", Shape::block, &service_block},
                                        {"services", Shape::map_of_blocks, &service_block}};
constexpr Block environment_block{environment_fields};

constexpr Field file_fields[] = {{"version"},
                                 {"mesh", Shape::block, &mesh_block},
                                 {"defaults", Shape::block, &service_block},
                                 {"services", Shape::map_of_blocks, &service_block},
                                 {"environments", Shape::map_of_blocks, &environment_block}};
constexpr Block file_block{file_fields};

std::string where(const std::string& path) {
  if (path.empty()) return "at the top level";
  if (path.starts_with("services.") && path.find('.', 9) == std::string::npos)
    return "in service '" + path.substr(9) + "'";
  return "in " + path;
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace

const Block& file_schema() {
  return file_block;
}
const Block& service_schema() {
  return service_block;
}
const Block& mesh_schema() {
  return mesh_block;
}
const Block& environment_schema() {
  return environment_block;
}

void check_keys(const Node& node, const Block& block, const std::string& path) {
  if (!node.is_map()) return;
  for (const auto& entry : node.entries) {
    const Field* field = nullptr;
    for (const auto& candidate : block.fields)
      if (candidate.key == entry.key) field = &candidate;
    if (!field) {
      std::vector<std::string_view> keys;
      for (const auto& candidate : block.fields) keys.push_back(candidate.key);
      fail(entry.key_mark,
           "unknown key '" + entry.key + "' " + where(path) + did_you_mean(entry.key, keys));
    }
    const Node& value = entry.value;
    const std::string sub = child_path(path, entry.key);
    switch (field->shape) {
      case Shape::leaf:
        break;
      case Shape::block:
        check_keys(value, *field->block, sub);
        break;
      case Shape::list_of_blocks:
        if (value.is_list())
          for (std::size_t i = 0; i < value.items.size(); ++i)
            check_keys(value.items[i], *field->block, sub + "[" + std::to_string(i) + "]");
        break;
      case Shape::map_of_blocks:
        if (value.is_map())
          for (const auto& named : value.entries)
            check_keys(named.value, *field->block, child_path(sub, named.key));
        break;
    }
  }
}

}  // namespace meshd::config::detail
