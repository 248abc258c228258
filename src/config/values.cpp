#include "meshd/config/values.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "meshd/core/text.hpp"

namespace meshd::config {

namespace {

// Fixed-point arithmetic keeps "0.1s" exactly 100ms, which doubles do not.
struct Decimal {
  std::uint64_t whole = 0;
  std::uint64_t fraction = 0;  // the digits after the point, as an integer
  std::uint64_t scale = 1;     // 10^(number of fraction digits)
};

// Reads digits[.digits] from the front of `text`, advancing it. At most 12
// whole and 9 fraction digits, so every product below fits in 64 bits.
std::optional<Decimal> take_decimal(std::string_view& text) {
  Decimal d;
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (i == 12) return std::nullopt;
    d.whole = d.whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    std::size_t start = ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (i - start == 9) return std::nullopt;
      d.fraction = d.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      d.scale *= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  text.remove_prefix(i);
  return d;
}

constexpr std::int64_t max_duration_ms = 1'000'000'000'000;  // ~31 years

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> units{
      {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
  std::uint64_t total = 0;
  while (!text.empty()) {
    auto number = take_decimal(text);
    if (!number) return std::nullopt;
    std::uint64_t factor = 0;
    for (const auto& [name, ms] : units) {  // "ms" is tried before "m"
      if (text.starts_with(name)) {
        factor = ms;
        text.remove_prefix(name.size());
        break;
      }
    }
    if (factor == 0) return std::nullopt;
    std::uint64_t fraction_ms = number->fraction * factor;
    if (fraction_ms % number->scale != 0) return std::nullopt;  // not whole ms
    total += number->whole * factor + fraction_ms / number->scale;
    if (total > static_cast<std::uint64_t>(max_duration_ms)) return std::nullopt;
  }
  return Duration{static_cast<std::int64_t>(total)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto number = take_decimal(text);
  if (!number) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 7> units{
      {{"b", 1},
       {"kb", 1ull << 10},
       {"kib", 1ull << 10},
       {"mb", 1ull << 20},
       {"mib", 1ull << 20},
       {"gb", 1ull << 30},
       {"gib", 1ull << 30}}};
  const std::string unit = core::lower(text);
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    // 12 digits times 2^30 would overflow; sizes past 1 TiB are not sensible here.
    if (number->whole > (1ull << 40) / factor) return std::nullopt;
    return number->whole * factor + number->fraction * factor / number->scale;
  }
  return std::nullopt;
}

std::optional<double> parse_percent(std::string_view text) {
  if (!text.ends_with('%')) return std::nullopt;
  text.remove_suffix(1);
  auto number = take_decimal(text);
  if (!number || !text.empty()) return std::nullopt;
  double value = static_cast<double>(number->whole) +
                 static_cast<double>(number->fraction) / static_cast<double>(number->scale);
  if (value > 100.0) return std::nullopt;
  return value / 100.0;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs brackets
  }
  if (host.empty() || host.find_first_of(" \t/") != std::string_view::npos) return std::nullopt;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535)
    return std::nullopt;
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

std::string format_duration(Duration duration) {
  const auto ms = duration.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "GB";
  if (bytes != 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "MB";
  if (bytes != 0 && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "KB";
  return std::to_string(bytes) + "B";
}

}  // namespace meshd::config
