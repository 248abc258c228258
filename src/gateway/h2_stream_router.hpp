#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// What happens to each stream, whoever the client is (h2_server_session.hpp
// for HTTP/2 clients, h2_h1_bridge.hpp for an HTTP/1.1 request to an h2c
// service): routing, one pick per stream, retries, the response relayed,
// or an error of the gateway's own. Subclasses move the bytes.

#include <memory>
#include <string>

#include "gateway_context.hpp"
#include "h2_stream.hpp"
#include "meshd/core/error.hpp"

namespace meshd::gateway::h2 {

class StreamRouter : public StreamOwner {
 public:
  explicit StreamRouter(std::shared_ptr<GatewayContext> ctx) : ctx_(std::move(ctx)) {}

  void on_response_head(Stream& s, int status, Headers headers, bool end_stream) override;
  void on_response_data(Stream& s) override;
  void on_response_end(Stream& s, Headers trailers) override;
  void on_upstream_failed(Stream& s, Outcome outcome, std::string what) override;

 protected:
  /// The request's headers are in: route it and make the first attempt.
  void on_request(Stream& s);
  /// An error of the gateway's own: JSON with its HTTP status, or for a
  /// gRPC call HTTP 200 with grpc-status and grpc-message (trailers-only).
  /// A `retry_after` above 0 (seconds) goes as Retry-After (a 429).
  void local_error(Stream& s, const core::Error& error, int retry_after = 0);
  /// The attempt's outcome to breakers and outlier detection, once.
  void record_result(Stream& s, Outcome outcome);
  /// The stream no longer occupies its instance.
  void release_host(Stream& s);
  /// The stream's access log record (mesh.access_log), once, when it ends.
  void log_stream(Stream& s, std::string_view protocol);

  // ---- what the subclass does with the client ---------------------------------
  /// Sends the response head (and with_body: the body from s.res_body as it
  /// comes, ended once s.res_end). Sets s.responded.
  virtual void respond(Stream& s, int status, const Headers& headers, bool with_body) = 0;
  /// The response broke off after it began: the client must see it did.
  virtual void reset(Stream& s) = 0;
  /// Whether trailers set in s.trailers before s.res_end reach the client
  /// (HTTP/2 clients: yes).
  virtual bool trailers_reach_client(const Stream&) const { return false; }
  /// s.res_body grew, or s.res_end was set.
  virtual void body_ready(Stream& s) = 0;
  /// The owning pointer of a stream still open, or null.
  virtual std::shared_ptr<Stream> shared(const Stream& s) const = 0;
  /// Keeps the subclass alive across a retry's backoff; null once closed.
  virtual std::shared_ptr<StreamRouter> keep() = 0;

  std::shared_ptr<GatewayContext> ctx_;
  std::string client_ip_;

 private:
  void attempt(Stream& s);
  void retry(Stream& s);
  bool may_retry(const Stream& s, unsigned on) const;
  void fail_after_attempts(Stream& s);
  void break_off(Stream& s, Outcome outcome);
  void relay_head(Stream& s, int status, Headers headers, bool end_stream);
  /// Relays a held head; false when that ended the response instead (a
  /// retried 5xx, a closed stream).
  bool release_head(Stream& s);
};

}  // namespace meshd::gateway::h2
