#include "routes.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <random>
#include <string_view>
#include <thread>

namespace meshd::demo {
namespace {

// `text` as a JSON string literal, quotes included; invalid UTF-8 becomes
// U+FFFD so that the result always parses.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Copy a well-formed UTF-8 sequence whole; replace anything else.
      const std::size_t length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      bool valid = length > 0 && c <= 0xf4 && i + length <= text.size();
      for (std::size_t k = 1; valid && k < length; ++k) {
        valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
      }
      if (valid) {
        out.append(text.substr(i, length));
        i += length;
        continue;
      }
      out += "\\ufffd";
    }
    ++i;
  }
  out += '"';
  return out;
}

Response text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), 0};
}

Response json(int status, std::string body) {
  return Response{status, "application/json", std::move(body) + "\n", 0};
}

bool parse_number(const std::string& text, std::uint64_t max, std::uint64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size() && value <= max;
}

bool inject_error(double rate) {
  if (rate <= 0) return false;
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(random) < rate;
}

Response health(const ServiceState& state) {
  return state.healthy.load() ? text(200, "ok\n") : text(503, "unhealthy\n");
}

Response set_health(const Request& request, ServiceState& state) {
  if (request.method != "POST" && request.method != "PUT") return text(405, "use POST\n");
  std::string status;
  request.query_param("status", status);
  if (status != "ok" && status != "fail") return text(400, "status must be ok or fail\n");
  state.healthy.store(status == "ok");
  return json(200, std::string(R"({"healthy": )") + (status == "ok" ? "true" : "false") + "}");
}

Response fixed_status(const std::string& path) {
  std::uint64_t status = 0;
  if (!parse_number(path.substr(std::string_view("/status/").size()), 599, status) ||
      status < 200) {
    return text(400, "status must be 200..599\n");
  }
  return text(static_cast<int>(status), "status " + std::to_string(status) + "\n");
}

Response sleep_then_answer(const Request& request) {
  std::string ms_text;
  std::uint64_t ms = 0;
  if (!request.query_param("ms", ms_text) || !parse_number(ms_text, 3'600'000, ms)) {
    return text(400, "ms must be 0..3600000\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return text(200, "slept " + std::to_string(ms) + " ms\n");
}

Response bytes(const Request& request) {
  std::string n_text;
  std::uint64_t n = 0;
  if (!request.query_param("n", n_text) || !parse_number(n_text, std::uint64_t{1} << 40, n)) {
    return text(400, "n must be 0..1099511627776\n");
  }
  Response response{200, "application/octet-stream", "", n};
  return response;
}

Response count_body(BodyReader& body) {
  std::array<char, 64 * 1024> sink;
  while (body.read(sink.data(), sink.size()) > 0) {
  }
  return json(200, R"({"bytes": )" + std::to_string(body.bytes_read()) + "}");
}

// Every request header, names lower-cased, repeated fields joined by ", ".
Response headers(const Request& request) {
  std::map<std::string, std::string> all;
  for (const auto& f : request.headers) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string& value = all[name];
    if (!value.empty()) value += ", ";
    value += std::string_view(f.value());
  }
  std::string body = "{";
  for (const auto& [name, value] : all) {
    if (body.size() > 1) body += ", ";
    body += json_string(name) + ": " + json_string(value);
  }
  return json(200, body + "}");
}

Response echo(const Request& request, const ServiceState& state) {
  return json(200, "{\"instance\": " + json_string(state.options.name) + ", \"port\": " +
                       std::to_string(state.port) + ", \"method\": " + json_string(request.method) +
                       ", \"path\": " + json_string(request.path) +
                       ", \"query\": " + json_string(request.query) +
                       ", \"x_forwarded_for\": " + json_string(request.header("x-forwarded-for")) +
                       ", \"x_request_id\": " + json_string(request.header("x-request-id")) + "}");
}

}  // namespace

Response handle_request(const Request& request, BodyReader& body, ServiceState& state) {
  const std::string& path = request.path;
  if (path == "/health") return health(state);
  if (path == "/admin/health") return set_health(request, state);

  // Fault injection applies to everything but the two health routes, so a
  // "slow" or "flaky" instance still passes (or fails) its checks on purpose.
  if (state.options.latency.count() > 0) std::this_thread::sleep_for(state.options.latency);
  if (inject_error(state.options.error_rate)) return text(500, "injected error\n");

  const bool sends_body = request.method == "POST" || request.method == "PUT";
  if (path.starts_with("/status/")) return fixed_status(path);
  if (path == "/sleep") return sleep_then_answer(request);
  if (path == "/bytes") return bytes(request);
  if (path == "/headers") return headers(request);
  if (sends_body && (path == "/upload" || path == "/echo-size")) return count_body(body);
  return echo(request, state);
}

}  // namespace meshd::demo
