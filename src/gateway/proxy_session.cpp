// One client connection of the gateway: reads requests, forwards each to an
// instance, streams bodies both ways, retries what may be retried. This
// file is the request half; proxy_session_response.cpp the response half.
//
// The per-request path is built to cost little more than the four system
// calls it needs (read the request, write it upstream, read the response,
// write it back), as nginx's does:
// - the header is parsed as views into the connection's read buffer and the
//   forwarded header is written straight into one output buffer, together
//   with the body bytes already read: no message object, no allocation;
// - a write is tried at once on the non-blocking socket and goes through
//   the event loop only when the socket is full;
// - timeouts are deadlines checked by one timer per connection
//   (connection_deadlines.hpp), not a timer armed and cancelled around
//   every read and write.
#include "proxy_session.hpp"

#include "h2_h1_bridge.hpp"
#include "h2_server_session.hpp"
#include "meshd/core/listen.hpp"
#include "meshd/core/local_reply.hpp"

namespace meshd::gateway {
namespace detail {

void ProxySession::read_request() {
  sink_.chunked = false;
  reqp_.emplace(req_, sink_);
  reqp_->header_limit(static_cast<std::uint32_t>(ctx_->options.header_limit));
  // The first request must arrive promptly (slowloris); later ones may
  // wait for the idle timeout, then the header has the header timeout.
  bool first = phase_ == Phase::accepted;
  phase_ = first ? Phase::reading_request_head : Phase::awaiting_request;
  if (in_.size() > 0) return parse_request();  // pipelined
  set_client_deadline(first ? ctx_->options.header_timeout : ctx_->options.idle_timeout);
  receive_request();
}

void ProxySession::receive_request() {
  client_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (ec) return self->close_client();  // gone, reset, or timed out
    self->in_.commit(n);
    self->parse_request();
  });
}

void ProxySession::parse_request() {
  // HTTP/2 with prior knowledge: the connection's first bytes are the
  // preface (h2_server_session.hpp), and another class serves it.
  if (first_bytes_ && started_ == core::TimePoint{} && in_.data().front() == 'P') {
    auto preface = h2::match_preface(in_.data());
    if (preface == h2::PrefaceMatch::partial) return receive_request();
    if (preface == h2::PrefaceMatch::full) {
      deadlines_.cancel();
      phase_ = Phase::closed;
      return h2::start_h2_session(ctx_, std::move(client_), in_.data());
    }
  }
  error_code ec;
  std::size_t used = reqp_->put(asio::buffer(in_.data().data(), in_.size()), ec);
  if (ec == http::error::need_more) {
    if (phase_ == Phase::awaiting_request) {
      phase_ = Phase::reading_request_head;
      set_client_deadline(ctx_->options.header_timeout);
    }
    return receive_request();
  }
  deadlines_.clear(Side::client);
  if (ec) open_unparsed_access_record(in_.size());
  if (ec == http::error::header_limit)
    return local_error(
        core::make_error(core::ErrorCode::header_fields_too_large, "request headers are too large"),
        false);
  if (ec)
    return local_error(core::make_error(core::ErrorCode::invalid_argument,
                                        "malformed HTTP request: " + ec.message()),
                       false);
  on_request_head(used);
}

void ProxySession::on_request_head(std::size_t header_bytes) {
  client_keep_alive_ = reqp_->keep_alive();
  client_version_ = req_.version;
  started_ = ctx_->clock.now();
  open_access_record(header_bytes);
  bool done = reqp_->is_done();
  if (client_version_ >= 11 && host_fields(req_) != 1) {
    in_.consume(header_bytes);
    return local_error(core::make_error(core::ErrorCode::invalid_argument,
                                        host_fields(req_) == 0
                                            ? "an HTTP/1.1 request needs a Host header"
                                            : "a request must have one Host header, not several"),
                       false);
  }
  if (auto h2c = h2::h2c_upgrade(req_, !done)) {  // `Upgrade: h2c`: HTTP/2 from here on
    in_.consume(header_bytes);
    deadlines_.cancel();
    phase_ = Phase::closed;
    return h2::start_h2c_upgrade(ctx_, std::move(client_), std::move(*h2c), in_.data());
  }
  // A Host naming a service wins over the path's prefix (docs/traffic.md).
  std::string_view rest;
  if (auto named = service_from_authority(request_authority(req_), ctx_->routes)) {
    service_.assign(*named);
    rest = origin_form(req_.target);
  } else if (auto split = split_target(req_.target)) {
    service_.assign(split->service);
    rest = split->rest;
  } else {
    in_.consume(header_bytes);
    return local_error(
        core::make_error(core::ErrorCode::invalid_argument,
                         "the path must be /<service>/<path>, or the Host <service>.mesh"),
        done && client_keep_alive_);
  }
  route_ = ctx_->routes.find(service_);
  if (!route_) {
    in_.consume(header_bytes);
    return local_error(
        core::make_error(core::ErrorCode::not_found, "no service named '" + service_ + "'"),
        done && client_keep_alive_);
  }
  if (route_->spec().protocol == config::Protocol::http2 && !is_websocket_upgrade(req_)) {
    // h2c instances: the request goes as an HTTP/2 stream (h2_h1_bridge.hpp),
    // which applies the rate limit itself.
    deadlines_.cancel();
    phase_ = Phase::closed;
    return h2::bridge_h1_request(ctx_, std::move(client_), in_.data());
  }
  if (RateLimiter* limiter = route_->rate_limiter()) {
    int retry_after = 0;
    auto now = ctx_->clock.now();
    if (!limiter->admit(rate_limit_key(limiter->spec(), req_, client_ip_), now, retry_after)) {
      in_.consume(header_bytes);
      route_->stats().record_rate_limited();
      route_->stats().record(429, std::chrono::microseconds(0), now);
      return local_error(rate_limited_error(service_, limiter->spec(), retry_after),
                         done && client_keep_alive_, retry_after);
    }
  }
  has_body_ = !done;
  upgrade_ = is_websocket_upgrade(req_);
  attempts_ = 0;
  tried_.clear();
  last_outcome_ = Outcome::success;
  last_error_.clear();
  stale_retried_ = false;
  route_->retry_budget().on_request(started_);  // this event's time
  if (route_->spec().load_balancer == config::LoadBalancerPolicy::consistent_hash)
    hash_ = hash_for(route_->spec().hash_key, req_, client_ip_);
  else
    hash_.reset();
  out_.clear();
  sink_.chunked = reqp_->chunked();
  set_trace(req_["traceparent"], thread_trace_random(), trace_);
  ForwardInfo info{
      rest,     client_ip_, ctx_->request_id_prefix, &ctx_->next_request, sink_.chunked,
      upgrade_, &trace_};
  write_upstream_head(req_, info, out_);
  in_.consume(header_bytes);  // the header's views end here
  // The body bytes that came with the header go out in the same write;
  // if none did, the header goes alone, so a slow uploader's request
  // still reaches the instance at once.
  if (has_body_ && feed_request()) return close_client();  // malformed body
  if (has_body_ && expects_continue(req_)) return send_continue();
  attempt();
}

void ProxySession::send_continue() {
  // Tiny and first on a connection with nothing else to write: the
  // non-blocking write nearly always takes it whole.
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  error_code ec;
  std::size_t n = client_.write_some(asio::buffer(kContinue), ec);
  if (!ec && n == kContinue.size()) return attempt();
  if (ec && !would_block(ec)) return close_client();
  std::size_t off = ec ? 0 : n;
  asio::async_write(client_, asio::buffer(kContinue.data() + off, kContinue.size() - off),
                    [self = shared_from_this()](error_code e, std::size_t) {
                      if (e) return self->close_client();
                      self->attempt();
                    });
}

void ProxySession::attempt() {
  ++attempts_;
  auto now = ctx_->clock.now();
  auto pick = route_->pick(balancer::PickContext{now, hash_}, tried_);
  // A retry prefers an instance not tried yet, but with none left it may
  // go back to one that was (a lone instance that blipped).
  if (!pick && !tried_.empty()) pick = route_->pick(balancer::PickContext{now, hash_});
  if (!pick) {
    if (attempts_ == 1) {
      route_->stats().record_rejected();
      route_->stats().record(core::http_status(pick.error().code), std::chrono::microseconds(0),
                             now);
      return local_error(pick.error(), reqp_->is_done() && client_keep_alive_);
    }
    return fail_after_attempts();
  }
  phase_ = Phase::connecting;
  host_ = pick->host;
  host_id_.assign(host_->id);
  upstream_timed_out_ = false;
  route_->acquire(*host_);
  attempt_started_ = now;
  pool_key_.assign(host_->address).push_back(':');
  char port[8];
  pool_key_.append(port, std::to_chars(port, port + sizeof port, host_->port).ptr);
  set_upstream_deadline(route_->spec().timeout);
  conn_ = ctx_->pool.take(pool_key_, now);
  reused_ = conn_ != nullptr;
  if (conn_) return send_request();
  conn_ = std::make_unique<UpstreamConnection>(ctx_->io);
  conn_->key = pool_key_;
  error_code ec;
  auto address = core::host_address(host_->address, ec);
  if (ec)
    return upstream_failed(Outcome::connect_failure,
                           "cannot connect to " + host_->address + ": not an IP address");
  conn_->socket.async_connect(
      tcp::endpoint(address, host_->port), [self = shared_from_this()](error_code e) {
        if (e)
          return self->upstream_failed(
              self->upstream_timed_out_ ? Outcome::timeout : Outcome::connect_failure,
              "connect: " + (self->upstream_timed_out_ ? std::string("timed out") : e.message()));
        error_code ignored;
        self->conn_->socket.set_option(tcp::no_delay(true), ignored);
        self->conn_->socket.non_blocking(true, ignored);
        self->send_request();
      });
}

void ProxySession::send_request() {
  phase_ = Phase::sending_request_head;
  set_upstream_deadline(route_->spec().timeout);
  write_upstream();
}

void ProxySession::write_upstream() {
  error_code ec;
  std::size_t n = conn_->socket.write_some(asio::buffer(out_), ec);
  if (!ec && n == out_.size()) return on_request_written({});
  if (ec && !would_block(ec)) return on_request_written(ec);
  if (phase_ == Phase::sending_request_body) set_upstream_deadline(ctx_->options.body_timeout);
  std::size_t off = ec ? 0 : n;
  asio::async_write(
      conn_->socket, asio::buffer(out_.data() + off, out_.size() - off),
      [self = shared_from_this()](error_code e, std::size_t) { self->on_request_written(e); });
}

void ProxySession::on_request_written(error_code ec) {
  if (ec) {
    // A pooled connection that fails the request's first write was closed
    // by the instance while idle.
    Outcome o = upstream_timed_out_                                ? Outcome::timeout
                : reused_ && phase_ == Phase::sending_request_head ? Outcome::reset
                                                                   : Outcome::connect_failure;
    return upstream_failed(
        o, "write: " + (upstream_timed_out_ ? std::string("timed out") : ec.message()));
  }
  // A body-less request stays in out_ for a retry; a body has streamed.
  if (has_body_) {
    out_.clear();
    phase_ = Phase::sending_request_body;
    if (!reqp_->is_done()) return pump_request_body();
  }
  read_response();
}

void ProxySession::pump_request_body() {
  if (feed_request()) return abort_both();  // malformed body
  if (!out_.empty()) return write_upstream();
  if (reqp_->is_done()) return read_response();
  deadlines_.clear(Side::upstream);
  set_client_deadline(ctx_->options.body_timeout);
  client_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
    self->deadlines_.clear(Side::client);
    if (ec) return self->abort_both();  // the client went away mid-body
    self->in_.commit(n);
    self->pump_request_body();
  });
}

}  // namespace detail

void start_proxy_session(std::shared_ptr<GatewayContext> context, Socket socket) {
  std::make_shared<detail::ProxySession>(std::move(context), std::move(socket))->start();
}

void continue_proxy_session(std::shared_ptr<GatewayContext> context, Socket socket,
                            std::string_view pipelined) {
  std::make_shared<detail::ProxySession>(std::move(context), std::move(socket))->start(pipelined);
}

}  // namespace meshd::gateway
