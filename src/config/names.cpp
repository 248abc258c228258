#include "names.hpp"

#include <csignal>

namespace meshd::config {

namespace detail {

namespace {

constexpr std::pair<std::string_view, RestartPolicy> restart_policies[] = {
    {"always", RestartPolicy::always},
    {"on-failure", RestartPolicy::on_failure},
    {"never", RestartPolicy::never},
};

constexpr std::pair<std::string_view, DependencyCondition> dependency_conditions[] = {
    {"started", DependencyCondition::started},
    {"healthy", DependencyCondition::healthy},
    {"completed", DependencyCondition::completed},
};

constexpr std::pair<std::string_view, CheckType> check_types[] = {
    {"http", CheckType::http}, {"tcp", CheckType::tcp},       {"exec", CheckType::exec},
    {"ttl", CheckType::ttl},   {"notify", CheckType::notify}, {"none", CheckType::none},
};

constexpr std::pair<std::string_view, LoadBalancerPolicy> load_balancers[] = {
    {"round_robin", LoadBalancerPolicy::round_robin},
    {"weighted_round_robin", LoadBalancerPolicy::weighted_round_robin},
    {"least_connections", LoadBalancerPolicy::least_connections},
    {"least_response_time", LoadBalancerPolicy::least_response_time},
    {"random", LoadBalancerPolicy::random},
    {"power_of_two", LoadBalancerPolicy::power_of_two},
    {"consistent_hash", LoadBalancerPolicy::consistent_hash},
};

constexpr std::pair<std::string_view, Placement> placements[] = {
    {"everywhere", Placement::everywhere},
    {"singleton", Placement::singleton},
};

constexpr std::pair<std::string_view, Protocol> protocols[] = {
    {"http1", Protocol::http1},
    {"http2", Protocol::http2},
};

constexpr std::pair<std::string_view, Locality> localities[] = {
    {"any", Locality::any},
    {"prefer_local", Locality::prefer_local},
};

constexpr std::pair<std::string_view, unsigned> retry_ons[] = {
    {"connect-failure", retry_connect_failure},
    {"reset", retry_reset},
    {"5xx", retry_5xx},
    {"timeout", retry_timeout},
};

constexpr std::pair<std::string_view, int> signals[] = {
    {"SIGTERM", SIGTERM}, {"TERM", SIGTERM}, {"SIGINT", SIGINT},   {"INT", SIGINT},
    {"SIGQUIT", SIGQUIT}, {"QUIT", SIGQUIT}, {"SIGKILL", SIGKILL}, {"KILL", SIGKILL},
    {"SIGHUP", SIGHUP},   {"HUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"USR1", SIGUSR1},
    {"SIGUSR2", SIGUSR2}, {"USR2", SIGUSR2},
};

template <typename T>
const char* name_of(Names<T> names, T value) {
  for (const auto& [name, candidate] : names)
    if (candidate == value) return name.data();  // the literals are NUL-terminated
  return "unknown";
}

}  // namespace

Names<RestartPolicy> restart_policy_names() {
  return restart_policies;
}
Names<DependencyCondition> dependency_condition_names() {
  return dependency_conditions;
}
Names<CheckType> check_type_names() {
  return check_types;
}
Names<LoadBalancerPolicy> load_balancer_names() {
  return load_balancers;
}
Names<Placement> placement_names() {
  return placements;
}
Names<Locality> locality_names() {
  return localities;
}
Names<Protocol> protocol_names() {
  return protocols;
}
Names<unsigned> retry_on_names() {
  return retry_ons;
}
Names<int> signal_names() {
  return signals;
}

}  // namespace detail

const char* to_string(RestartPolicy value) {
  return detail::name_of(detail::restart_policy_names(), value);
}
const char* to_string(DependencyCondition value) {
  return detail::name_of(detail::dependency_condition_names(), value);
}
const char* to_string(CheckType value) {
  return detail::name_of(detail::check_type_names(), value);
}
const char* to_string(LoadBalancerPolicy value) {
  return detail::name_of(detail::load_balancer_names(), value);
}

const char* to_string(Placement value) {
  return value == Placement::singleton ? "singleton" : "everywhere";
}

const char* to_string(Protocol value) {
  return value == Protocol::http2 ? "http2" : "http1";
}

const char* to_string(Locality value) {
  return value == Locality::prefer_local ? "prefer_local" : "any";
}

std::string to_string(const HashKey& key) {
  switch (key.kind) {
    case HashKey::Kind::none:
      return "";
    case HashKey::Kind::header:
      return "header:" + key.name;
    case HashKey::Kind::cookie:
      return "cookie:" + key.name;
    case HashKey::Kind::client_ip:
      return "client_ip";
  }
  return "";
}

}  // namespace meshd::config
