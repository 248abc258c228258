#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// One HTTP/2 stream of a client connection (h2_server_session.hpp), as the
// session and the upstream call serving it share it: the request as it
// arrives (headers, then body bytes as the client sends them), the
// routing state of its attempts, and the response as it comes back.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway_context.hpp"
#include "meshd/gateway/route_table.hpp"
#include "trace_context.hpp"

namespace meshd::gateway::h2 {

struct Header {
  std::string name, value;
};
using Headers = std::vector<Header>;

struct Stream;

/// What serves the client side of streams (an HTTP/2 connection, or an
/// HTTP/1.1 request bridged to an h2c instance): upstream calls report to it.
class StreamOwner {
 public:
  virtual ~StreamOwner() = default;
  /// The instance's response head: relayed, or retried for a 5xx the
  /// service retries.
  virtual void on_response_head(Stream& s, int status, Headers headers, bool end_stream) = 0;
  /// Body bytes were appended to s.res_body.
  virtual void on_response_data(Stream& s) = 0;
  /// The response is complete, with these trailers (may be empty).
  virtual void on_response_end(Stream& s, Headers trailers) = 0;
  /// The attempt failed: retried when allowed, else an error response (or
  /// a reset once the response has started).
  virtual void on_upstream_failed(Stream& s, Outcome outcome, std::string what) = 0;
  /// Request body bytes up to `upto` (absolute) have left for the instance:
  /// the client may send more.
  virtual void request_body_sent(Stream& s, std::uint64_t upto) = 0;
};

/// One attempt of a stream on an instance: an h2c stream on a pooled
/// connection (h2_upstream.hpp) or an HTTP/1.1 exchange (h2_h1_call.hpp).
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  /// More request body, or its end, is in the stream's buffer.
  virtual void request_body_ready() = 0;
  /// The client took `n` bytes of response body: the call may read more.
  virtual void response_consumed(std::size_t n) = 0;
  /// The client's stream is gone or the call is given up: stop quietly.
  virtual void cancel() = 0;
};

/// A service's route as the gateway's sessions hold it: whatever
/// GatewayContext::routes.find() gives (the route table's, or a gateway
/// thread's view of it), so this follows that type when it changes.
using RoutePtr = decltype(std::declval<GatewayContext&>().routes.find(std::string()));

/// Body bytes one stream holds in either direction before it stops
/// reading more (the window it leaves the other side).
constexpr std::size_t kStreamBuffer = 256 * 1024;
/// A request body up to this size is kept whole until the response
/// starts, so an attempt that failed can be sent again; a larger one is
/// dropped as it goes upstream and the call is not retried.
constexpr std::size_t kReplayLimit = 1024 * 1024;

struct Stream {
  std::int32_t id = 0;
  std::weak_ptr<StreamOwner> session;

  // The request.
  std::string method, scheme, authority, path, content_type, grpc_timeout;
  Headers headers;                  // regular fields, lower-case names, no pseudo-headers
  std::string body;                 // from absolute offset body_base
  std::uint64_t body_base = 0;      // bytes dropped from the front (not replayable then)
  std::uint64_t body_received = 0;  // absolute: all bytes the client sent
  std::uint64_t consumed = 0;       // absolute: bytes whose window went back to the client
  bool body_complete = false;
  bool grpc = false;

  // Routing and attempts.
  std::string service, upstream_path;
  RoutePtr route;
  std::shared_ptr<balancer::Host> host;
  std::string host_id;
  std::set<std::string> tried;
  int attempts = 0;
  Outcome last_outcome = Outcome::success;
  std::string last_error;
  core::TimePoint started{}, attempt_started{};
  std::optional<std::chrono::steady_clock::time_point> grpc_deadline;
  std::optional<std::uint64_t> hash;  // consistent_hash's key, per stream
  std::shared_ptr<UpstreamCall> call;
  bool verdict = false;  // this attempt's outcome went to breakers and outlier detection

  // The response.
  bool head_held = false;  // a gRPC head waits for its first body byte (h2_stream_router.cpp)
  int held_status = 0;
  Headers held_headers;
  bool responded = false;  // its headers went to nghttp2: no retry from here
  bool res_end = false;    // the body is complete in res_body
  std::string res_body;
  std::size_t res_off = 0;  // bytes of res_body already given to nghttp2
  Headers trailers;
  bool closed = false;  // nghttp2 closed the stream

  // For the access log and the trace.
  TraceContext trace;  // this hop's (traceparent upstream, X-Request-Id)
  core::WallTime wall_started{};
  int status = 0;  // sent to the client
  std::uint64_t bytes_out = 0;
  std::chrono::microseconds upstream_time{};
  std::string error;  // why the gateway answered itself
  bool logged = false;

  bool replayable() const { return body_base == 0; }
  /// Request body bytes up to `upto` (absolute) went upstream: past the
  /// replay limit they are not kept for another attempt.
  void sent_upto(std::uint64_t upto) {
    if (body.size() > kReplayLimit && upto > body_base) {
      body.erase(0, upto - body_base);
      body_base = upto;
    }
  }
  std::size_t res_pending() const { return res_body.size() - res_off; }
};

}  // namespace meshd::gateway::h2
