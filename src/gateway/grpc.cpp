#include "grpc.hpp"

#include <cstdint>

namespace meshd::gateway::grpc {

bool is_grpc(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size()) return false;
  for (std::size_t i = 0; i < kGrpc.size(); ++i) {
    char c = content_type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kGrpc[i]) return false;
  }
  if (content_type.size() == kGrpc.size()) return true;
  char next = content_type[kGrpc.size()];
  return next == '+' || next == ';';
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < value.size(); ++i) {
    char c = value[i];
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  using namespace std::chrono;
  switch (value.back()) {
    case 'H':
      return duration_cast<nanoseconds>(hours(n));
    case 'M':
      return duration_cast<nanoseconds>(minutes(n));
    case 'S':
      return duration_cast<nanoseconds>(seconds(n));
    case 'm':
      return duration_cast<nanoseconds>(milliseconds(n));
    case 'u':
      return duration_cast<nanoseconds>(microseconds(n));
    case 'n':
      return nanoseconds(n);
    default:
      return std::nullopt;
  }
}

Status status_for(core::ErrorCode code) {
  using core::ErrorCode;
  switch (code) {
    case ErrorCode::unavailable:
    case ErrorCode::upstream_failure:
      return Status::unavailable;
    case ErrorCode::upstream_timeout:
      return Status::deadline_exceeded;
    case ErrorCode::not_found:
      return Status::unimplemented;
    case ErrorCode::invalid_argument:
      return Status::invalid_argument;
    case ErrorCode::rate_limited:
    case ErrorCode::payload_too_large:
    case ErrorCode::header_fields_too_large:
      return Status::resource_exhausted;
    default:
      return Status::internal;
  }
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

bool method_matches(std::string_view path, const std::vector<std::string>& methods) {
  for (const auto& m : methods) {
    if (m == path) return true;
    if (m.size() >= 2 && m.compare(m.size() - 2, 2, "/*") == 0) {
      std::string_view prefix(m.data(), m.size() - 1);  // "/pkg.Service/"
      if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
          path.find('/', prefix.size()) == std::string_view::npos)
        return true;
    }
  }
  return false;
}

}  // namespace meshd::gateway::grpc
