#include "proxy_headers.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include "meshd/balancer/hash.hpp"

namespace meshd::gateway {

namespace http = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// RFC 9110 7.6.1: hop-by-hop fields, plus any named in Connection.
bool hop_by_hop(std::string_view name, std::string_view connection_value) {
  static constexpr std::string_view fixed[] = {"connection",        "keep-alive", "proxy-connection", "te",
                                               "trailer",           "transfer-encoding", "upgrade",
                                               "proxy-authenticate", "proxy-authorization"};
  for (auto f : fixed)
    if (iequals(name, f)) return true;
  std::size_t pos = 0;
  while (pos < connection_value.size()) {
    auto comma = connection_value.find(',', pos);
    auto token = connection_value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (!token.empty() && iequals(token, name)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

template <class Fields>
void copy_end_to_end(const Fields& in, Fields& out) {
  auto conn = in[http::field::connection];
  std::string_view connection(conn.data(), conn.size());
  for (const auto& f : in) {
    std::string_view name(f.name_string().data(), f.name_string().size());
    if (hop_by_hop(name, connection)) continue;
    out.insert(f.name_string(), f.value());
  }
}

}  // namespace

bool split_target(std::string_view target, std::string& service, std::string& rest) {
  if (target.empty() || target.front() != '/') return false;
  auto end = target.find_first_of("/?", 1);
  std::string_view name = target.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
  if (name.empty() || name.size() > 63) return false;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '-'))
      return false;
  service.assign(name);
  if (end == std::string_view::npos) rest = "/";
  else if (target[end] == '?') rest = "/" + std::string(target.substr(end));
  else rest.assign(target.substr(end));
  return true;
}

void build_upstream_request(const ProxyRequest& in, const std::string& rest, GatewayContext& ctx,
                            const std::string& client_ip, ProxyRequest& out) {
  out = ProxyRequest{};
  out.method(in.method());
  if (in.method() == http::verb::unknown) out.method_string(in.method_string());
  out.target(rest);
  out.version(11);
  copy_end_to_end(in.base(), out.base());
  auto xff = in["X-Forwarded-For"];
  out.set("X-Forwarded-For", xff.empty() ? client_ip : std::string(xff) + ", " + client_ip);
  if (in["X-Forwarded-Proto"].empty()) out.set("X-Forwarded-Proto", "http");
  if (in["X-Request-Id"].empty())
    out.set("X-Request-Id", ctx.request_id_prefix + "-" + std::to_string(++ctx.next_request));
  if (in.chunked()) out.chunked(true);
  out.keep_alive(true);
}

void build_client_response(const ProxyResponse& in, unsigned client_version, const std::string& instance,
                           ProxyResponse& out) {
  out = ProxyResponse{};
  out.result(in.result_int());
  out.reason(in.reason());
  out.version(client_version);
  copy_end_to_end(in.base(), out.base());
  out.set("X-Mesh-Instance", instance);
  bool has_body = !(in.result_int() / 100 == 1 || in.result_int() == 204 || in.result_int() == 304);
  if (has_body && !in.has_content_length() && client_version >= 11) out.chunked(true);
}

std::optional<std::uint64_t> hash_for(const config::HashKey& key, const ProxyRequest& req,
                                      const std::string& client_ip) {
  switch (key.kind) {
    case config::HashKey::Kind::none:
    case config::HashKey::Kind::client_ip: return balancer::hash_key(client_ip);
    case config::HashKey::Kind::header: {
      auto v = req[key.name];
      if (v.empty()) return std::nullopt;
      return balancer::hash_key(std::string_view(v.data(), v.size()));
    }
    case config::HashKey::Kind::cookie: {
      auto cookies = req[http::field::cookie];
      std::string_view all(cookies.data(), cookies.size());
      std::size_t pos = 0;
      while (pos < all.size()) {
        auto semi = all.find(';', pos);
        auto part = all.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        auto eq = part.find('=');
        if (eq != std::string_view::npos && part.substr(0, eq) == key.name)
          return balancer::hash_key(part.substr(eq + 1));
        if (semi == std::string_view::npos) break;
        pos = semi + 1;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string json_error(const std::string& code, const std::string& message) {
  return nlohmann::json({{"error", {{"code", code}, {"message", message}}}}).dump();
}

}  // namespace meshd::gateway
