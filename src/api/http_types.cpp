#include "meshd/api/http_types.hpp"

#include <charconv>

#include "meshd/core/local_reply.hpp"

namespace meshd::api {

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response error_response(const core::Error& error) {
  Response r;
  r.status = core::http_status(error.code);
  r.body = core::error_body(error);
  return r;
}

Response error_response(core::ErrorCode code, std::string message) {
  return error_response(core::Error{code, std::move(message)});
}

std::optional<long long> parse_int(const std::string& text, long long low, long long high) {
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < low || value > high)
    return std::nullopt;
  return value;
}

bool percent_decode(const std::string& in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

bool parse_query(const std::string& query, std::map<std::string, std::string>& out) {
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    auto amp = query.find('&', pos);
    std::string part = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string key, value;
      if (!percent_decode(part.substr(0, eq), key, true)) return false;
      if (eq != std::string::npos && !percent_decode(part.substr(eq + 1), value, true))
        return false;
      out[key] = value;
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return true;
}

}  // namespace meshd::api
