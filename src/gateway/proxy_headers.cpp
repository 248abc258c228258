#include "proxy_headers.hpp"

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <cassert>
#include <cctype>

#include "meshd/balancer/hash.hpp"
#include "meshd/core/local_reply.hpp"
#include "meshd/core/text.hpp"

namespace meshd::gateway {

namespace http = boost::beast::http;
using core::iequals;

namespace {

// RFC 9110 7.6.1: hop-by-hop fields, plus any named in Connection.
bool hop_by_hop(const HeaderField& f, std::string_view connection) {
  switch (f.name) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::expect:  // the gateway answers 100-continue itself
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
      return true;
    default:
      break;
  }
  std::size_t pos = 0;
  while (pos < connection.size()) {
    auto comma = connection.find(',', pos);
    auto token = connection.substr(
        pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty() && iequals(token, f.name_string)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// Beast has no enum value for the X- fields meshd sets.
bool is(const HeaderField& f, std::string_view name) {
  return f.name == http::field::unknown && iequals(f.name_string, name);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, r.ptr);
}

void append_status_line(std::string& out, unsigned version, int status, std::string_view reason) {
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  append_number(out, static_cast<std::uint64_t>(status));
  out.push_back(' ');
  if (reason.empty()) {
    auto r = http::obsolete_reason(static_cast<http::status>(status));
    out.append(r.data(), r.size());
  } else {
    out.append(reason);
  }
  out.append("\r\n");
}

void append_connection(std::string& out, unsigned version, bool keep_alive) {
  if (version >= 11 && !keep_alive) out.append("Connection: close\r\n");
  if (version < 11 && keep_alive) out.append("Connection: keep-alive\r\n");
}

}  // namespace

std::string_view MessageHead::operator[](std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name_string, name)) return f.value;
  return {};
}

bool MessageHead::has(std::string_view name) const {
  return std::any_of(fields.begin(), fields.end(),
                     [&](const HeaderField& f) { return iequals(f.name_string, name); });
}

std::string_view origin_form(std::string_view target) {
  // RFC 9112 3.2.2: absolute-form, "http://authority/path?q"; a proxy
  // must accept it. The authority is not routing here: the path is.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() < scheme.size() || !iequals(target.substr(0, scheme.size()), scheme))
      continue;
    auto rest = target.substr(scheme.size());
    auto path = rest.find_first_of("/?");
    if (path == std::string_view::npos) return "/";
    if (rest[path] == '?') return {};  // "http://h?q" has no path to route by
    return rest.substr(path);
  }
  return target;
}

std::string_view request_authority(const MessageHead& req) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    auto target = req.target;
    if (target.size() < scheme.size() || !iequals(target.substr(0, scheme.size()), scheme))
      continue;
    auto rest = target.substr(scheme.size());
    return rest.substr(0, rest.find_first_of("/?#"));
  }
  return req[http::field::host];
}

std::string authority_service_name(std::string_view authority) {
  // RFC 3986 3.2: [userinfo@]host[:port]; a bracketed IPv6 literal is no name.
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return {};
    authority = authority.substr(0, colon);
  }
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);  // FQDN
  constexpr std::string_view kSuffix = ".mesh";
  if (authority.size() > kSuffix.size() &&
      iequals(authority.substr(authority.size() - kSuffix.size()), kSuffix))
    authority.remove_suffix(kSuffix.size());
  // As config::valid_service_name: 1-63 of [a-z0-9_-], starting with a letter or digit.
  if (authority.empty() || authority.size() > 63) return {};
  std::string name;
  name.reserve(authority.size());
  for (char c : authority) {
    char l = core::lower(c);
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') ||
              (!name.empty() && (l == '_' || l == '-'));
    if (!ok) return {};
    name.push_back(l);
  }
  return name;
}

std::optional<std::string_view> service_from_authority(std::string_view host,
                                                       const RouteTable& routes) {
  if (host.empty()) return std::nullopt;
  std::string name = authority_service_name(host);
  if (name.empty()) return std::nullopt;
  auto it = routes.routes().find(name);
  if (it == routes.routes().end()) return std::nullopt;
  return std::string_view(it->first);
}

bool expects_continue(const MessageHead& req) {
  if (req.version < 11) return false;
  for (const auto& f : req.fields)
    if (f.name == http::field::expect && iequals(f.value, "100-continue")) return true;
  return false;
}

int host_fields(const MessageHead& req) {
  int n = 0;
  for (const auto& f : req.fields)
    if (f.name == http::field::host) ++n;
  return n;
}

namespace {

// Whether a comma-separated field value lists `token` (case-insensitive).
bool lists_token(std::string_view value, std::string_view token) {
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    auto item =
        value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

bool is_websocket_upgrade(const MessageHead& req) {
  return req.version >= 11 && req.method == http::verb::get &&
         lists_token(req[http::field::connection], "upgrade") &&
         lists_token(req[http::field::upgrade], "websocket");
}

std::optional<SplitTarget> split_target(std::string_view target) {
  target = origin_form(target);
  if (target.empty() || target.front() != '/') return std::nullopt;
  auto end = target.find_first_of("/?", 1);
  std::string_view name =
      target.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
  if (name.empty() || name.size() > 63) return std::nullopt;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return std::nullopt;
  return SplitTarget{name, end == std::string_view::npos ? std::string_view{} : target.substr(end)};
}

void write_upstream_head(const MessageHead& in, const ForwardInfo& info, std::string& out) {
  out.append(in.method_string).push_back(' ');
  if (info.rest.empty() || info.rest.front() != '/') out.push_back('/');
  out.append(info.rest).append(" HTTP/1.1\r\n");
  std::string_view connection = in[http::field::connection];
  std::string_view xff, proto, request_id;
  bool seen_xff = false, seen_proto = false, seen_id = false;
  for (const auto& f : in.fields) {
    if (hop_by_hop(f, connection)) continue;
    if (f.name == http::field::unknown) {
      // As beast::http::fields::set would: the first value decides, and
      // ours replaces every copy.
      if (is(f, "X-Forwarded-For")) {
        if (!seen_xff) xff = f.value, seen_xff = true;
        continue;
      }
      if (is(f, "X-Forwarded-Proto")) {
        if (!seen_proto) proto = f.value, seen_proto = true;
        if (proto.empty()) continue;
      } else if (is(f, "X-Request-Id")) {
        if (!seen_id) request_id = f.value, seen_id = true;
        if (request_id.empty()) continue;
      } else if (info.trace && is(f, "traceparent")) {
        continue;  // this hop's replaces it
      }
    }
    append_field(out, f.name_string, f.value);
  }
  out.append("X-Forwarded-For: ");
  if (!xff.empty()) out.append(xff).append(", ");
  out.append(info.client_ip).append("\r\n");
  if (proto.empty()) out.append("X-Forwarded-Proto: http\r\n");
  if (request_id.empty() && info.trace) {
    append_field(out, "X-Request-Id", info.trace->trace_id);
  } else if (request_id.empty()) {
    out.append("X-Request-Id: ").append(info.request_id_prefix).push_back('-');
    append_number(out, ++*info.next_request);
    out.append("\r\n");
  }
  if (info.trace) {
    out.append("traceparent: 00-").append(info.trace->trace_id).push_back('-');
    out.append(info.trace->parent_id).push_back('-');
    out.append(info.trace->flags).append("\r\n");
  }
  if (info.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (info.upgrade) {
    // The one hop-by-hop pair forwarded: the instance must see the upgrade.
    out.append("Connection: Upgrade\r\n");
    append_field(out, "Upgrade", in[http::field::upgrade]);
  }
  out.append("\r\n");
}

bool needs_chunking(const MessageHead& response, bool has_content_length, unsigned client_version) {
  int s = response.status;
  bool has_body = !(s / 100 == 1 || s == 204 || s == 304);
  return has_body && !has_content_length && client_version >= 11;
}

void write_client_head(const MessageHead& in, std::string_view instance,
                       const ClientFraming& framing, std::string& out) {
  append_status_line(out, framing.version, in.status, in.reason);
  std::string_view connection = in[http::field::connection];
  for (const auto& f : in.fields) {
    if (hop_by_hop(f, connection) || is(f, "X-Mesh-Instance")) continue;
    append_field(out, f.name_string, f.value);
  }
  append_field(out, "X-Mesh-Instance", instance);
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (in.status == 101) {
    // Switching protocols: the connection becomes the instance's.
    out.append("Connection: Upgrade\r\n");
    append_field(out, "Upgrade", in[http::field::upgrade]);
  } else {
    append_connection(out, framing.version, framing.keep_alive);
  }
  out.append("\r\n");
}

void write_local_response(const core::Error& error, unsigned version, bool keep_alive,
                          std::string& out, int retry_after) {
  std::string body = core::error_body(error);
  append_status_line(out, version, core::http_status(error.code), {});
  out.append("Server: meshd\r\nContent-Type: application/json\r\n");
  if (retry_after > 0) {
    out.append("Retry-After: ");
    append_number(out, static_cast<std::uint64_t>(retry_after));
    out.append("\r\n");
  }
  append_connection(out, version, keep_alive);
  out.append("Content-Length: ");
  append_number(out, body.size());
  out.append("\r\n\r\n").append(body);
}

std::string_view rate_limit_key(const config::RateLimitSpec& spec, const MessageHead& req,
                                std::string_view client_ip) {
  switch (spec.key) {
    case config::RateLimitSpec::Key::client_ip:
      return client_ip;
    case config::RateLimitSpec::Key::header:
      return req[std::string_view(spec.header)];
    case config::RateLimitSpec::Key::none:
      return {};
  }
  return {};
}

std::optional<std::uint64_t> hash_for(const config::HashKey& key, const MessageHead& req,
                                      std::string_view client_ip) {
  switch (key.kind) {
    case config::HashKey::Kind::none:
    case config::HashKey::Kind::client_ip:
      return balancer::hash_key(client_ip);
    case config::HashKey::Kind::header: {
      auto v = req[std::string_view(key.name)];
      if (v.empty()) return std::nullopt;
      return balancer::hash_key(v);
    }
    case config::HashKey::Kind::cookie: {
      std::string_view all = req[http::field::cookie];
      std::size_t pos = 0;
      while (pos < all.size()) {
        auto semi = all.find(';', pos);
        auto part =
            all.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
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
  assert(false && "HashKey kind without a key");
  return std::nullopt;
}

}  // namespace meshd::gateway
