#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).
// Internal to the gateway: one client connection (proxy_session.cpp has the
// request path, proxy_session_response.cpp the response path,
// proxy_session_failures.cpp retries, errors and closing,
// proxy_session_access.cpp the access log record).

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <cstring>
#include <optional>
#include <set>

#include "connection_deadlines.hpp"
#include "gateway_context.hpp"
#include "http_head.hpp"
#include "meshd/balancer/retry_budget.hpp"
#include "meshd/core/lingering.hpp"
#include "meshd/gateway/access_log.hpp"
#include "proxy_headers.hpp"
#include "rate_limiter.hpp"

namespace meshd::gateway::detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
// The clock of the io_context's timers: socket deadlines and retry backoff
// wait on it. What the session measures (latencies, request durations for
// stats and breakers) is read from the gateway's core::TimeSource instead.
using TimerClock = std::chrono::steady_clock;
using Timer = asio::basic_waitable_timer<TimerClock, asio::wait_traits<TimerClock>, Executor>;

// Read size, and the most body one write carries.
constexpr std::size_t kChunk = 64 * 1024;

inline bool idempotent(http::verb v) {
  return v == http::verb::get || v == http::verb::head || v == http::verb::options ||
         v == http::verb::put || v == http::verb::delete_ || v == http::verb::trace;
}

inline bool would_block(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

/// Where a connection is in its request/response cycle. The few decisions
/// that depend on what came before (which timeout a request head gets,
/// whether a failed write met a stale pooled connection, whether the
/// attempt's verdict is already in, what follows a written response) read
/// the phase instead of a boolean each.
enum class Phase {
  accepted,              // connected, no request yet: its head has the header timeout
  awaiting_request,      // keep-alive between requests: the idle timeout
  reading_request_head,  // head bytes arriving: the header timeout
  connecting,            // an attempt chose an instance and connects (or takes a pooled connection)
  sending_request_head,  // the head, with the body bytes that came with it, goes upstream
  sending_request_body,  // the head is out, the rest of the body streams after it
  awaiting_response,     // waiting for the instance's response head
  waiting_to_retry,      // the backoff before the next attempt
  relaying_response,     // the verdict is in; the response streams to the client
  replying_locally,      // an error of the gateway's own goes to the client
  lingering,             // half-closed after an error, discarding what the client still sends
  tunneling,             // upgraded (101): bytes relayed both ways (proxy_tunnel.cpp)
  closed,
};

class ProxySession : public std::enable_shared_from_this<ProxySession> {
 public:
  ProxySession(std::shared_ptr<GatewayContext> ctx, Socket socket)
      : ctx_(std::move(ctx)),
        client_(std::move(socket)),
        in_(kChunk),
        deadlines_(client_.get_executor(), *this),
        retry_timer_(client_.get_executor()) {
    ++ctx_->connections;
    error_code ec;
    auto ep = client_.remote_endpoint(ec);
    if (!ec) client_ip_ = ep.address().to_string();
    client_.non_blocking(true, ec);
    sink_.out = &out_;
    sink_.limit = kChunk;
  }
  ~ProxySession() {
    --ctx_->connections;
    if (tunneling_) route_->stats().upgrade_closed();
    record_result(Outcome::cancelled);
    release_host();
  }

  void start() { read_request(); }
  // Takes over a connection whose previous request another class served
  // (h2_h1_bridge.hpp): `pipelined` is what its client sent after that
  // request, at most one buffer's worth. Not the connection's first
  // request: the idle timeout applies, and no HTTP/2 preface is looked for.
  void start(std::string_view pipelined) {
    phase_ = Phase::awaiting_request;
    first_bytes_ = false;
    auto room = in_.prepare();
    std::size_t n = std::min(pipelined.size(), room.size());  // equal buffers: all of it
    std::memcpy(room.data(), pipelined.data(), n);
    in_.commit(n);
    read_request();
  }

 private:
  // ---- client request -------------------------------------------------------
  void read_request();

  void receive_request();

  void parse_request();

  void on_request_head(std::size_t header_bytes);

  // Answers `Expect: 100-continue` with 100 Continue, then attempt().
  void send_continue();

  // Parses what `in` holds of the message body into out_, framed for the
  // other side, until out_ is full, `in` is empty or the message is done.
  template <class Parser>
  bool feed(Parser& parser, InputBuffer& in) {
    error_code ec;
    while (!parser.is_done() && in.size() > 0 && sink_.room() > 0) {
      std::size_t n = parser.put(asio::buffer(in.data().data(), in.size()), ec);
      in.consume(n);
      if (ec == http::error::need_more) return in.full();  // a chunk header larger than the buffer
      if (ec) return true;
      if (n == 0) break;
    }
    return false;
  }

  // The request body bytes in `in` go on (feed), counted for the access log.
  bool feed_request() {
    std::size_t before = in_.size();
    bool bad = feed(*reqp_, in_);
    bytes_in_ += before - in_.size();
    return bad;
  }

  // ---- the access log (proxy_session_access.cpp) ------------------------------
  // Starts this request's record, when mesh.access_log is on.
  void open_access_record(std::size_t header_bytes);
  // Starts the record of a request the parser refused (no method, no path).
  void open_unparsed_access_record(std::size_t bytes_read);
  // The part both share: clears the last request's state and, when the
  // log is on, starts a record with its time and client (false: off).
  bool reset_access_record(std::size_t bytes_in);
  // Ends it: `status` sent (0: none), `error` for the gateway's own answers
  // and broken exchanges, `unsent` bytes of response still to be written.
  void close_access_record(int status, std::string_view error = {}, std::size_t unsent = 0);

  // ---- one attempt on one instance -------------------------------------------
  void attempt();

  void send_request();

  // Writes out_ to the instance, then on_request_written.
  void write_upstream();

  void on_request_written(error_code ec);

  // Moves the request body on: what is buffered goes upstream, else more
  // is read from the client.
  void pump_request_body();

  // ---- upstream response --------------------------------------------------
  void read_response();

  void receive_response();

  void parse_response();

  void on_response_head(std::size_t header_bytes);

  // Moves the response on: header and buffered body go to the client in
  // one write (the common small response); a body still coming is read
  // from the instance piece by piece.
  void pump_response_body();

  // Writes out_ to the client, then on_client_written.
  void write_client();

  void on_client_written(error_code ec);

  void exchange_done();

  // ---- upgraded connections (proxy_tunnel.cpp) -------------------------------
  // The instance answered 101: relays what follows both ways.
  void start_tunnel(std::size_t header_bytes);
  void tunnel_to_upstream();
  void tunnel_to_client();
  // Moves both idle deadlines on: data went one way.
  void touch_tunnel();
  // One side sent EOF: passes it on; the tunnel ends once both have.
  void half_close(bool client_finished);
  void end_tunnel();

  // ---- failures and retries -------------------------------------------------
  bool head_request() const { return req_.method == http::verb::head; }
  // Whether the request can be sent again as it is: idempotent and with
  // no body (a streamed body is gone).
  bool replayable() const { return idempotent(req_.method) && !has_body_; }

  bool may_retry(unsigned on) const;

  void upstream_failed(Outcome outcome, const std::string& what);

  void retry();

  void fail_after_attempts();

  // Feeds the attempt's outcome to breakers and outlier detection, once.
  // `now`, when the caller has just read the clock.
  void record_result(Outcome outcome, std::chrono::microseconds latency = {},
                     std::optional<core::TimePoint> now = std::nullopt);

  // The attempt no longer occupies its instance.
  void release_host();

  void drop_connection();

  void abort_both();

  // ---- local responses ------------------------------------------------------
  // Answers with `error` as core::local_reply maps it (status and JSON
  // body), then reads the next request or, without `keep_alive`, lingers.
  void local_error(const core::Error& error, bool keep_alive, int retry_after = 0);

  // Half-close and discard what the client still sends, so it reads our
  // error instead of a reset (see src/api/http_server.cpp).
  void linger();
  void drain();

  void close_client();

  // ---- deadlines ------------------------------------------------------------
  friend class ConnectionDeadlines<ProxySession>;
  using Side = ConnectionDeadlines<ProxySession>::Side;
  void set_client_deadline(TimerClock::duration d) { deadlines_.set(Side::client, d); }
  void set_upstream_deadline(TimerClock::duration d) { deadlines_.set(Side::upstream, d); }
  void on_deadline(Side side);

  std::shared_ptr<GatewayContext> ctx_;
  Socket client_;
  InputBuffer in_;
  std::string out_;  // the next write, either way
  BodySink sink_;
  MessageHead req_, res_;
  std::optional<RequestParser> reqp_;
  std::optional<ResponseParser> respp_;
  ConnectionDeadlines<ProxySession> deadlines_;
  Timer retry_timer_;
  std::string client_ip_;
  std::string service_;
  std::string pool_key_;
  std::shared_ptr<WorkerRoute> route_;  // kept alive across a reload that drops the service
  std::shared_ptr<balancer::Host> host_;
  std::string host_id_;
  std::unique_ptr<UpstreamConnection> conn_;
  std::optional<std::uint64_t> hash_;
  std::set<std::string> tried_;
  TraceContext trace_;   // this request's (traceparent upstream, the access log)
  AccessRecord access_;  // this request's, while logging_
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
  std::chrono::microseconds upstream_time_{0};     // the last attempt's, to its response head
  core::TimePoint started_{}, attempt_started_{};  // from ctx_->clock
  bool first_bytes_ = true;                        // in_ starts with the connection's first bytes
  Outcome last_outcome_ = Outcome::success;
  std::string last_error_;
  unsigned client_version_ = 11;
  int attempts_ = 0;
  TimerClock::time_point linger_until_{};  // lingering ends by then at the latest
  Phase phase_ = Phase::accepted;
  // What the phase does not say:
  bool client_keep_alive_ = true;  // the connection stays open after this exchange
  bool logging_ = false;           // access_ is open: the access log is on and a request came
  bool has_body_ = false;          // the request has a body (it streams, so no retry)
  bool upgrade_ = false;           // the request asks for a WebSocket upgrade
  bool tunneling_ = false;         // the upgrade happened: counted in the route's stats
  bool client_finished_ = false, upstream_finished_ = false;  // EOF seen, in a tunnel
  bool stale_retried_ =
      false;             // this request spent its one free retry after a stale pooled connection
  bool reused_ = false;  // this attempt's connection came from the pool
  bool upstream_timed_out_ =
      false;  // this attempt's deadline passed: what waits upstream fails as a timeout
};

}  // namespace meshd::gateway::detail
