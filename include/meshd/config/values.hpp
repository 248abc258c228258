#pragma once

// The value syntaxes of the config file, shared with the command line and the
// HTTP API (`--listen HOST:PORT`, `?wait=30s`) so that one spelling means the
// same thing everywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "meshd/config/types.hpp"

namespace meshd::config {

/// A duration: one or more number+unit groups with units ms, s, m, h, such as
/// "250ms", "2s", "1.5s", "5m", "1h", "1m30s". "0" alone is zero. A bare
/// number otherwise has no unit and is rejected; so is anything that is not
/// a whole number of milliseconds or is longer than about 31 years.
std::optional<Duration> parse_duration(std::string_view text);

/// A size in bytes: a number and one of B, KB, MB, GB, KiB, MiB, GiB (any
/// case). KB and KiB both mean 1024 bytes, as in most operators' heads and
/// log rotation tools; fractions ("1.5GB") round down to a whole byte.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// A percentage "N%" with 0 <= N <= 100 (fractions allowed), as a share 0..1.
std::optional<double> parse_percent(std::string_view text);

/// "host:port" or "[ipv6]:port", port 0..65535. The host is not resolved.
std::optional<Endpoint> parse_endpoint(std::string_view text);

/// The shortest exact spelling parse_duration() accepts: "2s", "1500ms", "5m".
std::string format_duration(Duration duration);

/// The shortest exact spelling parse_size() accepts: "10MB", "1500B".
std::string format_size(std::uint64_t bytes);

}  // namespace meshd::config
