#include "meshd/config/cluster_checks.hpp"

#include <algorithm>
#include <charconv>

namespace meshd::config {

namespace {

constexpr std::size_t max_node_name = 63;

// `prefix` `s` `suffix` built by appending: GCC 12 at -O3 warns falsely
// (-Wrestrict) on "'" + std::string(...).
std::string wrap(std::string_view prefix, std::string_view s, std::string_view suffix) {
  std::string out;
  out.reserve(prefix.size() + s.size() + suffix.size());
  out.append(prefix).append(s).append(suffix);
  return out;
}

bool node_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_https(std::string_view url) {
  return url.starts_with("https://");
}

bool valid_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    // An IPv6 address has at least two colons ("::1"); "10.0.0.5:80" is not one.
    return std::count(host.begin(), host.end(), ':') >= 2 &&
           host.find_first_not_of("0123456789abcdefABCDEF:.") == host.npos;
  }
  if (host.empty()) return false;
  for (char c : host)
    if (!node_name_char(c)) return false;
  return true;
}

}  // namespace

std::string node_name_problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > max_node_name) return wrap("'", name, "' is longer than 63 characters");
  for (char c : name)
    if (!node_name_char(c))
      return wrap("'", name, "") +
             "' may hold only letters, digits, '.', '_' and '-' (it is part of instance ids and "
             "etcd keys)";
  return "";
}

core::Result<EtcdUrl> parse_etcd_url(std::string_view url) {
  const std::string expected =
      wrap("expected http://host:port or https://host:port, got '", url, "'");
  auto bad = [](std::string why) {
    return core::make_error(core::ErrorCode::invalid_argument, std::move(why));
  };
  EtcdUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (is_https(url)) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return bad(expected);
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == rest.npos) return bad(expected + " (the port is missing)");
  std::string_view host = rest.substr(0, colon);
  std::string_view port_text = rest.substr(colon + 1);
  if (!valid_host(host)) return bad(expected);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535)
    return bad(expected);
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  out.port = std::string(port_text);
  return out;
}

std::string etcd_endpoint_problem(std::string_view url) {
  auto parsed = parse_etcd_url(url);
  return parsed ? std::string() : parsed.error().message;
}

std::string advertise_problem(std::string_view host) {
  if (host.empty()) return "must not be empty";
  if (host == "0.0.0.0" || host == "::" || host == "[::]")
    return wrap("'", host, "") +
           "' is a wildcard that other nodes cannot connect to; give this node's own address";
  if (!valid_host(host) && !valid_host(wrap("[", host, "]")))
    return wrap("expected a host name or an IP address, got '", host, "'");
  return "";
}

std::string cluster_tls_problem(const ClusterSpec& cluster) {
  const ClusterTls& tls = cluster.tls;
  if (!tls.cert.empty() && tls.key.empty()) return "tls.key: a client certificate needs its key";
  if (tls.cert.empty() && !tls.key.empty()) return "tls.cert: a client key needs its certificate";
  const bool wants_tls = tls.enabled() || !tls.key.empty();
  for (const auto& url : cluster.etcd) {
    if (wants_tls && !is_https(url))
      return "etcd: '" + url + "' is plain http but tls is set; use https:// endpoints";
    if (!wants_tls && is_https(url))
      return "tls.ca: '" + url + "' is https; give the CA that signed etcd's certificate";
  }
  if (wants_tls && cluster.etcd.empty()) return "tls: set without any etcd endpoint";
  if (wants_tls && tls.ca.empty())
    return "tls.ca: https endpoints need the CA that signed etcd's certificate";
  return "";
}

}  // namespace meshd::config
