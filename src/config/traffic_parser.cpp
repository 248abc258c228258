#include <algorithm>
#include <charconv>
#include <cmath>

#include "names.hpp"
#include "parsers.hpp"

namespace meshd::config::detail {

namespace {

HashKey parse_hash_key(const Node& node, const std::string& path) {
  static const std::string expected = "header:NAME, cookie:NAME or client_ip";
  const std::string& text = scalar_text(node, path, expected);
  if (text == "client_ip") return {HashKey::Kind::client_ip, ""};
  for (auto [prefix, kind] : {std::pair{std::string_view("header:"), HashKey::Kind::header},
                              std::pair{std::string_view("cookie:"), HashKey::Kind::cookie}}) {
    if (text.starts_with(prefix) && text.size() > prefix.size())
      return {kind, text.substr(prefix.size())};
  }
  fail(node.mark, path + ": expected " + expected + ", got '" + text + "'");
}

// A later bound (max_open_for, max_ejection_time) that was not written
// follows the earlier one up; one that was written must not be below it.
void order_bounds(const MapView& map, std::string_view low_key, Duration low,
                  std::string_view high_key, Duration& high) {
  if (const Node* node = map.get(high_key)) {
    if (high < low)
      fail(node->mark, map.path(high_key) + ": must not be shorter than " + std::string(low_key));
  } else {
    high = std::max(high, low);
  }
}

void parse_window(const Node& node, const std::string& path, CircuitBreakerSpec& out) {
  const std::string& text =
      scalar_text(node, path, "a number of calls like 20, or a duration like 60s");
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    out.window_kind = CircuitBreakerSpec::WindowKind::count;
    out.window_calls = as_int(node, path, 1, 100'000);
  } else {
    out.window_kind = CircuitBreakerSpec::WindowKind::time;
    out.window_time = as_duration(node, path, Duration{1000});
  }
}

CircuitBreakerSpec parse_breaker(const Node* node, const std::string& path) {
  CircuitBreakerSpec out;
  if (!node) return out;
  if (node->is_scalar()) {  // `circuit_breaker: false`
    out.enabled = as_bool(*node, path);
    return out;
  }
  MapView map(*node, path);
  read(map, "enabled", out.enabled);
  if (const Node* rate = map.get("failure_rate")) {
    out.failure_rate = as_percent(*rate, map.path("failure_rate"));
    if (out.failure_rate <= 0.0)
      fail(rate->mark, map.path("failure_rate") +
                           ": 0% would trip on every call; use "
                           "enabled: false to turn the breaker off");
  }
  read_percent(map, "slow_call_rate", out.slow_call_rate);
  read(map, "slow_call_duration", out.slow_call_duration, Duration{1});
  if (const Node* window = map.get("window")) parse_window(*window, map.path("window"), out);
  read(map, "minimum_calls", out.minimum_calls, 1, 100'000);
  read(map, "open_for", out.open_for, Duration{1});
  read(map, "max_open_for", out.max_open_for, Duration{1});
  order_bounds(map, "open_for", out.open_for, "max_open_for", out.max_open_for);
  read(map, "half_open_calls", out.half_open_calls, 1, 1000);
  read(map, "max_half_open", out.max_half_open, Duration{1});
  return out;
}

OutlierDetectionSpec parse_outlier(const Node* node, const std::string& path) {
  OutlierDetectionSpec out;
  if (!node) return out;
  if (node->is_scalar()) {  // `outlier_detection: false`
    out.enabled = as_bool(*node, path);
    return out;
  }
  MapView map(*node, path);
  read(map, "enabled", out.enabled);
  read(map, "consecutive_failures", out.consecutive_failures, 1, 1000);
  read(map, "ejection_time", out.ejection_time, Duration{1});
  read(map, "max_ejection_time", out.max_ejection_time, Duration{1});
  order_bounds(map, "ejection_time", out.ejection_time, "max_ejection_time", out.max_ejection_time);
  read_percent(map, "max_ejected", out.max_ejected);
  return out;
}

// A protobuf name: letters, digits and '_', not starting with a digit;
// `dotted` allows a package's dots between such parts.
bool grpc_name(std::string_view name, bool dotted) {
  bool start = true;
  for (char c : name) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (dotted && c == '.' && !start) {
      start = true;
    } else if (alpha || (!start && c >= '0' && c <= '9')) {
      start = false;
    } else {
      return false;
    }
  }
  return !start;  // not empty, not ending in '.'
}

// RFC 9110 5.6.2: a field name is a token.
bool field_name(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

RetrySpec parse_retry(const MapView& map) {
  RetrySpec out;
  read(map, "attempts", out.attempts, 1, 10);
  read(map, "backoff", out.backoff);
  if (const Node* on = map.get("on")) {
    const std::string path = map.path("on");
    if (!on->is_list())
      fail(on->mark, path + ": expected a list like [connect-failure, reset, 5xx, timeout], got " +
                         describe(on->kind));
    out.on = 0;
    for (std::size_t i = 0; i < on->items.size(); ++i)
      out.on |= as_choice(on->items[i], path + "[" + std::to_string(i) + "]", retry_on_names());
  }
  read_percent(map, "budget", out.budget);
  if (const Node* methods = map.get("grpc_methods")) {
    const std::string path = map.path("grpc_methods");
    out.grpc_methods = as_string_list(*methods, path);
    for (std::size_t i = 0; i < out.grpc_methods.size(); ++i) {
      const std::string& m = out.grpc_methods[i];
      // /package.Service/Method, or /package.Service/* for every method.
      auto second = m.find('/', 1);
      if (!m.starts_with('/') || second == std::string::npos ||
          !grpc_name(std::string_view(m).substr(1, second - 1), true) ||
          (m.substr(second + 1) != "*" &&
           !grpc_name(std::string_view(m).substr(second + 1), false)))
        fail(methods->is_list() && i < methods->items.size() ? methods->items[i].mark
                                                             : methods->mark,
             path + "[" + std::to_string(i) + "]: expected /package.Service/Method or " +
                 "/package.Service/*, got '" + m + "'");
    }
  }
  return out;
}

double as_rate(const Node& node, const std::string& path) {
  const std::string& text = scalar_text(node, path, "requests a second, like 100 or 0.5");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > 1e9)
    fail(node.mark,
         path + ": expected requests a second above 0, like 100 or 0.5, got '" + text + "'");
  return value;
}

RateLimitSpec parse_rate_limit(const Node& node, const std::string& path) {
  MapView map(node, path);
  RateLimitSpec out;
  const Node* rps = map.get("rps");
  if (!rps) fail(node.mark, path + ": rps is required (requests a second, like 100)");
  out.rps = as_rate(*rps, map.path("rps"));
  out.burst = static_cast<int>(std::min(1e6, std::max(1.0, std::ceil(out.rps))));
  read(map, "burst", out.burst, 1, 1'000'000);
  if (const Node* key = map.get("key")) {
    static const std::string expected = "client_ip, header:NAME or none";
    const std::string kpath = map.path("key");
    const std::string& text = scalar_text(*key, kpath, expected);
    if (text == "client_ip")
      out.key = RateLimitSpec::Key::client_ip;
    else if (text == "none")
      out.key = RateLimitSpec::Key::none;
    else if (text.starts_with("header:") && field_name(std::string_view(text).substr(7)))
      out.key = RateLimitSpec::Key::header, out.header = text.substr(7);
    else
      fail(key->mark, kpath + ": expected " + expected + ", got '" + text + "'");
  }
  int max_keys = static_cast<int>(out.max_keys);
  read(map, "max_keys", max_keys, 1, 10'000'000);
  out.max_keys = static_cast<std::size_t>(max_keys);
  return out;
}

}  // namespace

void parse_traffic(const MapView& service, ServiceSpec& spec) {
  read_choice(service, "load_balancer", spec.load_balancer, load_balancer_names());
  read(service, "weight", spec.weight, 1, 1000);
  if (const Node* key = service.get("hash_key"))
    spec.hash_key = parse_hash_key(*key, service.path("hash_key"));
  if (spec.load_balancer == LoadBalancerPolicy::consistent_hash &&
      spec.hash_key.kind == HashKey::Kind::none)
    spec.hash_key.kind = HashKey::Kind::client_ip;
  read(service, "slow_start", spec.slow_start);
  read_percent(service, "panic_threshold", spec.panic_threshold);
  spec.circuit_breaker =
      parse_breaker(service.get("circuit_breaker"), service.path("circuit_breaker"));
  spec.outlier_detection =
      parse_outlier(service.get("outlier_detection"), service.path("outlier_detection"));
  spec.retry = parse_retry(service.child("retry"));
  read(service, "timeout", spec.timeout, Duration{1});
  read(service, "idle_timeout", spec.idle_timeout, Duration{1000});
  read_choice(service, "protocol", spec.protocol, protocol_names());
  // `rate_limit: null` (or false) in a service turns off one set in defaults.
  if (const Node* limit = service.get("rate_limit")) {
    if (limit->is_scalar() && !as_bool(*limit, service.path("rate_limit")))
      spec.rate_limit.reset();
    else
      spec.rate_limit = parse_rate_limit(*limit, service.path("rate_limit"));
  }
}

}  // namespace meshd::config::detail
