#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// the status line and headers of a response, as bytes.

#include <cstddef>
#include <string>
#include <string_view>

#include "meshd/api/http_types.hpp"

namespace meshd::api {

/// What the connection adds to a handler's Response.
struct HeadOptions {
  unsigned version = 11;  // 10 or 11, as the request
  bool keep_alive = true;
  /// Echoed in Access-Control-Allow-Origin; empty: no CORS headers.
  std::string_view cors_origin;
  /// Adds "X-Mesh-Stale: true": the catalog behind the answer is the last
  /// one known (the cluster's etcd cannot be reached).
  bool stale = false;
};

/// The status line and headers of `response`, through the blank line that
/// ends them, announcing `content_length` bytes of body (no Content-Length
/// for 1xx, 204 and 304, which have no body). Written by hand rather than
/// by Beast's serializer: a blocking query's wake-up answers a thousand
/// connections at once, and the serializer cost more than the bytes.
std::string response_head(const Response& response, std::size_t content_length,
                          const HeadOptions& options);

/// Whether HTTP forbids a body (and a Content-Length) for `status`.
bool status_has_no_body(int status);

}  // namespace meshd::api
