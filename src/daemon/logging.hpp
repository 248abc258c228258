#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <string>

namespace meshd::daemon {

/// Points spdlog's default logger at stderr with `level` and `format`
/// ("text": one human line per record; "json": one JSON object per line,
/// for log shippers).
void setup_logging(const std::string& level, const std::string& format);

}  // namespace meshd::daemon
