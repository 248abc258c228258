#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meshd/core/error.hpp"
#include "meshd/core/local_reply.hpp"

namespace meshd::api {

/// Tells a handler that answers later (a parked blocking query) that its
/// client hung up first, so that it can stop waiting and let go of the
/// connection. The HTTP server fires it on the control loop, at most once.
class Hangup {
 public:
  /// `fn` runs if the client goes away before the request is answered.
  void on_hangup(std::function<void()> fn) { fn_ = std::move(fn); }
  void fire() {
    auto fn = std::move(fn_);
    fn_ = nullptr;
    if (fn) fn();
  }
  /// Drops the callback (the request was answered): it may hold the session.
  void forget() { fn_ = nullptr; }

 private:
  std::function<void()> fn_;
};

/// A parsed HTTP request, free of Beast types so that handlers compile
/// fast and test without sockets.
struct Request {
  std::string method;                          // "GET"
  std::string target;                          // "/api/v1/services?x=1"
  std::string path;                            // "/api/v1/services", percent-decoded
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  /// Set by the HTTP server; null where there is no connection (tests).
  std::shared_ptr<Hangup> hangup;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct PreparedResponse;

struct Response {
  Response() = default;
  /// A prepared answer; the fields below stay empty (and allocate nothing).
  explicit Response(std::shared_ptr<const PreparedResponse> answer)
      : content_type(), prepared(std::move(answer)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When set, the body instead of `body`: bytes shared by many responses
  /// (a cached discover answer), written without a copy.
  std::shared_ptr<const std::string> shared_body;

  /// When set, this whole answer instead of the fields above (see
  /// PreparedResponse): serialised once by prepare_response() and sent as
  /// is to many connections (the watchers of a blocking query all wake at
  /// one index).
  std::shared_ptr<const PreparedResponse> prepared;

  std::string_view body_text() const;
};

/// One answer for many connections: `wire` holds the status line, headers
/// and body as a keep-alive HTTP/1.1 connection without CORS receives them,
/// so that the server's only work per connection is one send. A connection
/// in another case (HTTP/1.0, HEAD, a CORS origin) gets its head built from
/// `response` (status, type, headers; no body) and the body from `wire`:
/// the body is held once.
struct PreparedResponse {
  Response response;
  std::string wire;
  std::size_t body_offset = 0;  // where the body starts in `wire`

  std::string_view body() const { return std::string_view(wire).substr(body_offset); }
};

/// Serialises `response` once (see PreparedResponse).
std::shared_ptr<const PreparedResponse> prepare_response(Response response);

inline std::string_view Response::body_text() const {
  if (prepared) return prepared->body();
  return shared_body ? *shared_body : body;
}

/// Completes a request; may be called later (blocking queries), once, on
/// the control loop.
using Respond = std::function<void(Response)>;

/// Holds back the answers given while it is open, on the control loop, and
/// sends them together when the outermost one closes: one tight loop of
/// sends, then each connection's bookkeeping. For code that answers many
/// requests at once (a change waking a thousand blocking queries), where
/// sends interleaved with preparing each answer cost more CPU time and the
/// last client waits for all of it. Answers given outside one go out at once.
class ResponseBatch {
 public:
  ResponseBatch();
  ~ResponseBatch();
  ResponseBatch(const ResponseBatch&) = delete;
  ResponseBatch& operator=(const ResponseBatch&) = delete;
};

/// Path parameters, e.g. {"name": "hyperrag"} for /services/{name}.
using Params = std::map<std::string, std::string>;

Response json_response(int status, const nlohmann::json& body);
/// {"error": {"code": ..., "message": ...}} with the status for `code`.
Response error_response(const core::Error& error);
Response error_response(core::ErrorCode code, std::string message);
/// The status of `code` (core::http_status, the one mapping).
using core::http_status;

/// Splits "a=1&b=two%20words" into a map; returns false on bad escapes.
bool parse_query(const std::string& query, std::map<std::string, std::string>& out);
/// Parses a whole decimal integer in [low, high]; nullopt otherwise.
std::optional<long long> parse_int(const std::string& text, long long low, long long high);

/// Decodes %XX escapes; returns false on a malformed one.
bool percent_decode(const std::string& in, std::string& out, bool plus_is_space);

}  // namespace meshd::api
