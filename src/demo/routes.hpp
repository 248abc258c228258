#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// What the demo service answers, route by route (see --help and the
// integration tests): health, fault injection and an echo of the request.

#include <atomic>
#include <cstdint>
#include <string>

#include "body_reader.hpp"
#include "options.hpp"
#include "request.hpp"

namespace meshd::demo {

/// State shared by every connection.
struct ServiceState {
  const Options& options;
  int port = 0;  // the port actually bound
  std::atomic<bool> healthy{true};
  std::atomic<std::uint64_t> requests{0};
};

/// A response before it is written. `stream_bytes` bodies are generated
/// while sending instead of held in memory.
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::uint64_t stream_bytes = 0;  // when non-zero, replaces `body`
};

/// Answers one request. May read (part of) its body; the caller drains the
/// rest. Throws HttpError or PeerGone when the body turns out bad.
Response handle_request(const Request& request, BodyReader& body, ServiceState& state);

}  // namespace meshd::demo
