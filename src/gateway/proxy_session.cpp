// One client connection of the gateway: reads requests, forwards each to an
// instance, streams bodies both ways, retries what may be retried.
#include <array>
#include <optional>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway_context.hpp"
#include "meshd/balancer/hash.hpp"
#include "meshd/balancer/retry_budget.hpp"
#include "proxy_headers.hpp"

namespace meshd::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 64 * 1024;

bool idempotent(http::verb v) {
  return v == http::verb::get || v == http::verb::head || v == http::verb::options || v == http::verb::put ||
         v == http::verb::delete_ || v == http::verb::trace;
}

class ProxySession : public std::enable_shared_from_this<ProxySession> {
 public:
  ProxySession(std::shared_ptr<GatewayContext> ctx, Socket socket)
      : ctx_(std::move(ctx)), client_(std::move(socket)), retry_timer_(ctx_->io.get_executor()) {
    ++ctx_->connections;
    beast::error_code ec;
    auto ep = client_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = ep.address().to_string();
  }
  ~ProxySession() {
    --ctx_->connections;
    record_result(Outcome::cancelled);
    release_host();
  }

  void start() { read_request(true); }

 private:
  // ---- client request -------------------------------------------------------
  void read_request(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(ctx_->options.header_limit));
    parser_->body_limit(boost::none);
    // The first request must arrive promptly (slowloris); later ones may
    // wait for the idle timeout, then the header has the header timeout.
    client_.expires_after(first ? ctx_->options.header_timeout : ctx_->options.idle_timeout);
    if (first || cbuf_.size() > 0) {
      http::async_read_header(client_, cbuf_, *parser_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request_header(ec); });
      return;
    }
    // Keep-alive: wait for the next request's first bytes without a header
    // deadline, then give the rest of the header the header timeout.
    client_.async_read_some(cbuf_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->close_client();
      self->cbuf_.commit(n);
      self->client_.expires_after(self->ctx_->options.header_timeout);
      http::async_read_header(self->client_, self->cbuf_, *self->parser_,
                              [self](beast::error_code e, std::size_t) { self->on_request_header(e); });
    });
  }

  void on_request_header(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted)
      return close_client();
    if (ec == beast::error::timeout) return close_client();
    if (ec == http::error::header_limit) return local_error(431, "request_header_fields_too_large", "request headers are too large", false);
    if (ec) return local_error(400, "invalid_argument", "malformed HTTP request: " + ec.message(), false);

    const auto& req = parser_->get();
    client_keep_alive_ = req.keep_alive();
    client_version_ = req.version();
    head_ = req.method() == http::verb::head;
    started_ = Clock::now();
    std::string_view target(req.target().data(), req.target().size());
    std::string service, rest;
    if (!split_target(target, service, rest))
      return local_error(400, "invalid_argument", "the path must be /<service>/<path>", !parser_->is_done() ? false : client_keep_alive_);
    route_ = ctx_->routes.find(service);
    if (!route_)
      return local_error(404, "not_found", "no service named '" + service + "'", parser_->is_done() && client_keep_alive_);
    has_body_ = !parser_->is_done();
    can_retry_ = idempotent(req.method()) && !has_body_;
    attempts_ = 0;
    tried_.clear();
    last_outcome_ = Outcome::success;
    route_->retry_budget().on_request(ctx_->clock.now());
    build_upstream_request(req, rest, *ctx_, client_ip_, ureq_);
    if (route_->spec().load_balancer == config::LoadBalancerPolicy::consistent_hash)
      hash_ = hash_for(route_->spec().hash_key, req, client_ip_);
    else
      hash_.reset();
    attempt();
  }

  // ---- one attempt on one instance -------------------------------------------
  void attempt() {
    ++attempts_;
    auto now = ctx_->clock.now();
    auto pick = route_->pick(balancer::PickContext{now, hash_}, tried_);
    // A retry prefers an instance not tried yet, but with none left it may
    // go back to one that was (a lone instance that blipped).
    if (!pick && !tried_.empty()) pick = route_->pick(balancer::PickContext{now, hash_});
    if (!pick) {
      if (attempts_ == 1) {
        route_->stats().record_rejected();
        route_->stats().record(503, std::chrono::microseconds(0), now);
        return local_error(503, "unavailable", pick.error().message, parser_->is_done() && client_keep_alive_);
      }
      return fail_after_attempts();
    }
    host_ = pick->host;
    host_id_ = host_->id;
    result_recorded_ = false;
    ureq_sent_ = false;
    if (can_retry_ && route_->spec().retry.attempts > 1) tried_.insert(host_->id);
    ++host_->active_requests;
    attempt_started_ = Clock::now();
    std::string key = host_->address + ":" + std::to_string(host_->port);
    conn_ = ctx_->pool.take(key, now);
    reused_ = conn_ != nullptr;
    if (conn_) return send_request_header();
    conn_ = std::make_unique<UpstreamConnection>(ctx_->io);
    conn_->key = std::move(key);
    beast::error_code ec;
    auto address = asio::ip::make_address(host_->address == "localhost" ? "127.0.0.1" : host_->address, ec);
    if (ec) return upstream_failed(Outcome::connect_failure, "cannot connect to " + host_->address + ": not an IP address");
    conn_->stream.expires_after(route_->spec().timeout);
    conn_->stream.async_connect(tcp::endpoint(address, host_->port), [self = shared_from_this()](beast::error_code e) {
      if (e) return self->upstream_failed(e == beast::error::timeout ? Outcome::timeout : Outcome::connect_failure,
                                          "connect: " + e.message());
      beast::error_code ignored;
      self->conn_->stream.socket().set_option(tcp::no_delay(true), ignored);
      self->send_request_header();
    });
  }

  // The header goes out with the first piece of the body when that piece
  // is already here (one write instead of two); otherwise alone, so a slow
  // uploader's request still reaches the instance at once.
  void send_request_header() {
    conn_->stream.expires_after(route_->spec().timeout);
    userializer_.emplace(ureq_);
    if (has_body_ && cbuf_.size() > 0) return read_request_chunk();
    ureq_.body().data = nullptr;
    ureq_.body().size = 0;
    ureq_.body().more = has_body_;
    write_request(has_body_);
  }

  void read_request_chunk() {
    parser_->get().body().data = rbuf_.data();
    parser_->get().body().size = rbuf_.size();
    client_.expires_after(ctx_->options.body_timeout);
    http::async_read(client_, cbuf_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->abort_both();  // the client went away mid-body
      auto& body = self->parser_->get().body();
      self->ureq_.body().data = self->rbuf_.data();
      self->ureq_.body().size = self->rbuf_.size() - body.size;
      self->ureq_.body().more = !self->parser_->is_done();
      self->write_request(self->ureq_.body().more);
    });
  }

  void write_request(bool more) {
    http::async_write(conn_->stream, *userializer_, [self = shared_from_this(), more](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec)
        return self->upstream_failed(self->reused_ && !self->ureq_sent_ ? Outcome::reset : Outcome::connect_failure,
                                     "write: " + ec.message());
      self->ureq_sent_ = true;
      if (more) return self->read_request_chunk();
      self->read_response_header();
    });
  }

  // ---- upstream response --------------------------------------------------
  void read_response_header() {
    rparser_.emplace();
    rparser_->body_limit(boost::none);
    rparser_->header_limit(64 * 1024);
    if (head_) rparser_->skip(true);
    conn_->stream.expires_after(route_->spec().timeout);
    http::async_read_header(conn_->stream, conn_->buffer, *rparser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_response_header(ec);
    });
  }

  void on_response_header(beast::error_code ec) {
    if (ec) {
      Outcome o = ec == beast::error::timeout ? Outcome::timeout : Outcome::reset;
      return upstream_failed(o, ec == beast::error::timeout ? "no response within " +
                                                                  std::to_string(route_->spec().timeout.count()) + "ms"
                                                            : "read: " + ec.message());
    }
    auto& res = rparser_->get();
    int status = res.result_int();
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_started_);
    if (status >= 500 && may_retry(config::retry_5xx)) {
      record_result(Outcome::http_5xx, latency);
      release_host();
      drop_connection();
      last_error_ = "HTTP " + std::to_string(status);
      return retry();
    }
    // The verdict is in at the response header; the host stays busy until
    // its body has been relayed.
    record_result(status >= 500 ? Outcome::http_5xx : Outcome::success, latency);
    route_->stats().record(status, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_),
                           ctx_->clock.now());
    build_client_response(res, client_version_, host_id_, cres_);
    if (!rparser_->is_done() && !res.has_content_length() && !res.chunked() && client_version_ < 11)
      client_keep_alive_ = false;  // body ends when the upstream closes: so must we
    cres_.keep_alive(client_keep_alive_);
    cserializer_.emplace(cres_);
    // As for requests: header and the first piece of body in one write when
    // the body is already buffered (the common small response), header
    // alone when it is not (a stream, a slow producer).
    if (!rparser_->is_done() && conn_->buffer.size() > 0) return read_response_chunk();
    cres_.body().data = nullptr;
    cres_.body().size = 0;
    cres_.body().more = !rparser_->is_done();
    write_response(cres_.body().more);
  }

  void read_response_chunk() {
    rparser_->get().body().data = wbuf_.data();
    rparser_->get().body().size = wbuf_.size();
    conn_->stream.expires_after(ctx_->options.body_timeout);
    http::async_read(conn_->stream, conn_->buffer, *rparser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->abort_both();  // the instance broke off mid-body
      auto& body = self->rparser_->get().body();
      self->cres_.body().data = self->wbuf_.data();
      self->cres_.body().size = self->wbuf_.size() - body.size;
      self->cres_.body().more = !self->rparser_->is_done();
      self->write_response(self->cres_.body().more);
    });
  }

  void write_response(bool more) {
    client_.expires_after(ctx_->options.body_timeout);
    http::async_write(client_, *cserializer_, [self = shared_from_this(), more](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->abort_both();
      if (more) return self->read_response_chunk();
      self->exchange_done();
    });
  }

  void exchange_done() {
    bool reusable = rparser_->get().keep_alive() && rparser_->is_done() && conn_ && !has_body_pending();
    if (reusable) {
      ++conn_->requests;
      ctx_->pool.put(std::move(conn_), ctx_->clock.now());
    } else {
      drop_connection();
    }
    release_host();
    if (!client_keep_alive_ || !parser_->is_done()) return close_client();
    read_request(false);
  }

  bool has_body_pending() const { return has_body_ && !parser_->is_done(); }

  // ---- failures and retries -------------------------------------------------
  bool may_retry(unsigned on) const {
    const auto& r = route_->spec().retry;
    return can_retry_ && attempts_ < r.attempts && (r.on & on) != 0;
  }

  void upstream_failed(Outcome outcome, const std::string& what) {
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_started_);
    // A pooled connection the instance closed while idle is not the
    // instance's fault: try again on a fresh connection, uncounted.
    bool stale = reused_ && (outcome == Outcome::reset) && can_retry_ && !stale_retried_;
    drop_connection();
    if (stale) {
      stale_retried_ = true;
      record_result(Outcome::cancelled, latency);
      release_host();
      tried_.erase(host_id_);
      --attempts_;
      return attempt();
    }
    record_result(outcome, latency);
    release_host();
    last_error_ = what;
    unsigned flag = outcome == Outcome::timeout ? config::retry_timeout
                    : outcome == Outcome::connect_failure ? config::retry_connect_failure
                                                          : config::retry_reset;
    if (may_retry(flag)) return retry();
    fail_after_attempts();
  }

  void retry() {
    auto now = ctx_->clock.now();
    if (!route_->retry_budget().try_retry(now)) {
      last_error_ += " (retry budget exhausted)";
      return fail_after_attempts();
    }
    route_->stats().record_retry();
    auto delay = balancer::retry_backoff(route_->spec().retry.backoff, attempts_, ctx_->random01());
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->attempt();
    });
  }

  void fail_after_attempts() {
    bool timeout = last_outcome_ == Outcome::timeout;
    int status = timeout ? 504 : 502;
    route_->stats().record(status, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_),
                           ctx_->clock.now());
    std::string msg = (timeout ? "upstream timed out" : "upstream failed") + std::string(" after ") +
                      std::to_string(attempts_) + (attempts_ == 1 ? " attempt" : " attempts") +
                      (last_error_.empty() ? "" : ": " + last_error_);
    local_error(status, timeout ? "upstream_timeout" : "upstream_failure", msg, parser_->is_done() && client_keep_alive_);
  }

  // Feeds the attempt's outcome to breakers and outlier detection, once.
  void record_result(Outcome outcome, std::chrono::microseconds latency = {}) {
    if (!host_ || result_recorded_) return;
    result_recorded_ = true;
    if (outcome != Outcome::cancelled) last_outcome_ = outcome;
    route_->on_result(host_id_, outcome, latency, ctx_->clock.now());
  }

  // The attempt no longer occupies its instance.
  void release_host() {
    if (host_) --host_->active_requests;
    host_.reset();
  }

  void drop_connection() {
    if (!conn_) return;
    beast::error_code ignored;
    conn_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn_->stream.close();
    conn_.reset();
  }

  void abort_both() {
    record_result(Outcome::cancelled);
    release_host();
    drop_connection();
    close_client();
  }

  // ---- local responses ------------------------------------------------------
  void local_error(int status, const std::string& code, const std::string& message, bool keep_alive) {
    release_host();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(client_version_ ? client_version_ : 11);
    res->result(static_cast<unsigned>(status));
    res->set(http::field::server, "meshd");
    res->set(http::field::content_type, "application/json");
    res->body() = json_error(code, message);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    client_keep_alive_ = keep_alive;
    client_.expires_after(ctx_->options.body_timeout);
    http::async_write(client_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->client_keep_alive_) return self->linger();
      self->read_request(false);
    });
  }

  // Half-close and discard what the client still sends, so it reads our
  // error instead of a reset (see src/api/http_server.cpp).
  void linger() {
    beast::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    client_.expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    client_.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > 8 * 1024 * 1024) return self->close_client();
      self->drain();
    });
  }

  void close_client() {
    beast::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    client_.close();
    retry_timer_.cancel();
  }

  std::shared_ptr<GatewayContext> ctx_;
  Stream client_;
  beast::flat_buffer cbuf_;
  asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor> retry_timer_;
  std::string client_ip_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  http::request<http::buffer_body> ureq_;
  std::optional<http::request_serializer<http::buffer_body>> userializer_;
  std::optional<http::response_parser<http::buffer_body>> rparser_;
  http::response<http::buffer_body> cres_;
  std::optional<http::response_serializer<http::buffer_body>> cserializer_;
  std::array<char, kChunk> rbuf_{};
  std::array<char, kChunk> wbuf_{};
  std::shared_ptr<ServiceRoute> route_;  // kept alive across a reload that drops the service
  std::shared_ptr<balancer::Host> host_;
  std::string host_id_;
  std::unique_ptr<UpstreamConnection> conn_;
  std::optional<std::uint64_t> hash_;
  std::set<std::string> tried_;
  Clock::time_point started_{}, attempt_started_{};
  Outcome last_outcome_ = Outcome::success;
  std::string last_error_;
  unsigned client_version_ = 11;
  int attempts_ = 0;
  std::size_t drained_ = 0;
  bool client_keep_alive_ = true;
  bool head_ = false;
  bool has_body_ = false;
  bool can_retry_ = false;
  bool reused_ = false;
  bool stale_retried_ = false;
  bool ureq_sent_ = false;
  bool result_recorded_ = false;
};

}  // namespace

void start_proxy_session(std::shared_ptr<GatewayContext> context, Socket socket) {
  std::make_shared<ProxySession>(std::move(context), std::move(socket))->start();
}

}  // namespace meshd::gateway
