#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// Header rewriting for the gateway: what is forwarded, what is hop-by-hop,
// what meshd adds. Kept apart from the session's I/O so it reads as policy.
// Heads are written straight into the connection's output buffer: no
// message object is built per request.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http_head.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"
#include "meshd/gateway/route_table.hpp"
#include "trace_context.hpp"

namespace meshd::gateway {

/// A request target split into the service and the path to forward.
struct SplitTarget {
  std::string_view service;
  /// What follows the service name: "", "/a/b?q" or "?q". The forwarded
  /// target is this with a leading "/" when it does not start with one.
  std::string_view rest;
};

/// The origin-form of a request target: "http://h:1/a?q" -> "/a?q",
/// "http://h" -> "/" (RFC 9112 3.2.2, absolute-form, which a proxy must
/// accept); any other target as it is; empty for "http://h?q".
std::string_view origin_form(std::string_view target);

/// "/svc/a/b?q" -> ("svc", "/a/b?q"); "/svc" -> ("svc", ""), also in
/// absolute-form. Empty for a target that is neither or has an empty or
/// invalid service name.
std::optional<SplitTarget> split_target(std::string_view target);

/// The authority a request names: the one in an absolute-form target
/// (RFC 9112 3.2.2: it wins over Host), else the Host field; empty when
/// there is none.
std::string_view request_authority(const MessageHead& req);

/// The service name a Host / `:authority` value would name, lower-cased:
/// "api", "API.mesh:8000", "api.mesh." -> "api". Empty for anything else
/// (an IP address, another domain, a name that is not a service name).
/// Whether such a service exists is the caller's question.
std::string authority_service_name(std::string_view authority);

/// The service named by a Host / `:authority` value (`<service>` or
/// `<service>.mesh`, any `:port`, case-insensitive) when that service
/// exists; the view is the route table's own name. Such a request goes to
/// that service with its path unchanged; any other goes by its
/// `/<service>/` prefix (docs/traffic.md, "Routing by authority").
std::optional<std::string_view> service_from_authority(std::string_view host,
                                                       const RouteTable& routes);

/// Whether an HTTP/1.1 request asks `Expect: 100-continue` (RFC 9110
/// 10.1.1): the gateway answers 100 Continue itself and does not forward
/// the field, so a client like curl never waits a second for it.
bool expects_continue(const MessageHead& req);

/// How many Host fields a request has (RFC 9112 3.2: an HTTP/1.1 request
/// needs exactly one).
int host_fields(const MessageHead& req);

/// What the upstream request carries besides the client's header.
struct ForwardInfo {
  std::string_view rest;       // SplitTarget::rest
  std::string_view client_ip;  // appended to X-Forwarded-For
  std::string_view request_id_prefix;
  std::uint64_t* next_request = nullptr;  // numbers X-Request-Id when the client sent none
  bool chunked = false;                   // the body is forwarded chunked
  bool upgrade = false;                   // a WebSocket upgrade: Connection/Upgrade go too
  /// The request's trace (trace_context.hpp): sent as traceparent, in place
  /// of the client's, and as X-Request-Id when the client sent none.
  const TraceContext* trace = nullptr;
};

/// Whether a request asks to become a WebSocket (RFC 6455 4.1: GET,
/// HTTP/1.1, `Connection: upgrade` and `Upgrade: websocket`).
bool is_websocket_upgrade(const MessageHead& req);

/// Appends the request header to send upstream: same method, the rest of
/// the target, HTTP/1.1, the client's fields minus hop-by-hop ones, plus
/// X-Forwarded-For, X-Forwarded-Proto, X-Request-Id (kept when the client
/// sent one), traceparent (tracestate goes as it came), and
/// Transfer-Encoding for a chunked body. No
/// Connection field: HTTP/1.1 keeps the pooled connection alive.
void write_upstream_head(const MessageHead& in, const ForwardInfo& info, std::string& out);

/// How the response is framed for the client.
struct ClientFraming {
  unsigned version = 11;   // the client's HTTP version
  bool keep_alive = true;  // said with Connection when the version's default differs
  bool chunked = false;    // the body is re-chunked (it had no Content-Length)
};

/// Whether a response to `client_version` needs chunking: it has a body,
/// no Content-Length and the client speaks HTTP/1.1.
bool needs_chunking(const MessageHead& response, bool has_content_length, unsigned client_version);

/// Appends the response header for the client: status and fields from
/// upstream minus hop-by-hop ones, X-Mesh-Instance, and framing; a 101
/// keeps its Connection: Upgrade and Upgrade fields.
void write_client_head(const MessageHead& in, std::string_view instance,
                       const ClientFraming& framing, std::string& out);

/// Appends a whole local response (an error of the gateway's own): the
/// status and JSON body core::local_reply gives `error`, so the gateway
/// answers with the same codes as the REST API (docs/api.md, "Errors").
/// A `retry_after` above 0 (seconds) is sent as Retry-After (a 429).
void write_local_response(const core::Error& error, unsigned version, bool keep_alive,
                          std::string& out, int retry_after = 0);

/// The rate-limit key of a request, by the service's rate_limit.key: the
/// client's address, the named header's value ("" when absent: such
/// requests share one bucket), or "" (one bucket for all).
std::string_view rate_limit_key(const config::RateLimitSpec& spec, const MessageHead& req,
                                std::string_view client_ip);

/// The consistent-hash key of a request, by the service's hash_key.
std::optional<std::uint64_t> hash_for(const config::HashKey& key, const MessageHead& req,
                                      std::string_view client_ip);

}  // namespace meshd::gateway
