// Recognising an h2c upgrade request (see h2_upgrade.hpp).
#include "h2_upgrade.hpp"

#include "meshd/core/text.hpp"

namespace meshd::gateway::h2 {

std::optional<std::string> decode_base64url(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-' || c == '+' ? 62
            : c == '_' || c == '/' ? 63
                                   : -1;
    if (c == '=') break;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

bool has_token(std::string_view value, std::string_view token) {
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    auto part = value.substr(pos, comma == std::string_view::npos ? value.npos : comma - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (core::iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

std::optional<H2cUpgrade> h2c_upgrade(const MessageHead& req, bool has_body) {
  namespace http = boost::beast::http;
  // The Upgrade field first: for nearly every request its absence ends this.
  auto upgrade = req[http::field::upgrade];
  if (upgrade.empty() || has_body || req.version != 11) return std::nullopt;
  auto connection = req[http::field::connection];
  if (!has_token(upgrade, "h2c") || !has_token(connection, "upgrade") ||
      !has_token(connection, "http2-settings") || !req.has("http2-settings"))
    return std::nullopt;
  auto settings = decode_base64url(req["http2-settings"]);
  if (!settings) return std::nullopt;
  H2cUpgrade u;
  u.method.assign(req.method_string);
  u.target.assign(req.target);
  u.authority.assign(req[http::field::host]);
  u.settings = std::move(*settings);
  for (const auto& f : req.fields) {
    std::string name = core::lower(f.name_string);
    if (name == "connection" || name == "upgrade" || name == "http2-settings" || name == "host" ||
        name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
        name == "te" || has_token(connection, name))
      continue;
    u.headers.push_back({std::move(name), std::string(f.value)});
  }
  return u;
}

}  // namespace meshd::gateway::h2
