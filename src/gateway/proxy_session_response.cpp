// The response half of a gateway connection's exchange: the instance's
// response head, its body relayed to the client, and the end of the
// exchange (see proxy_session.hpp; the request half is proxy_session.cpp).
#include "proxy_session.hpp"

namespace meshd::gateway::detail {

void ProxySession::read_response() {
  phase_ = Phase::awaiting_response;
  sink_.chunked = false;
  respp_.emplace(res_, sink_);
  respp_->header_limit(64 * 1024);
  if (head_request()) respp_->skip(true);
  set_upstream_deadline(route_->spec().timeout);
  if (conn_->buffer.size() > 0) return parse_response();
  // The read starts from the back of the event loop's queue rather than
  // now: started now, Asio's first (speculative) recv would nearly always
  // find nothing yet and cost a system call; after the other ready
  // connections have had their turn, the answer has usually arrived.
  asio::post(client_.get_executor(), [self = shared_from_this()] { self->receive_response(); });
}

void ProxySession::receive_response() {
  conn_->socket.async_read_some(conn_->buffer.prepare(), [self = shared_from_this()](
                                                             error_code ec, std::size_t n) {
    if (ec) {
      bool timeout = self->upstream_timed_out_;
      return self->upstream_failed(
          timeout ? Outcome::timeout : Outcome::reset,
          timeout
              ? "no response within " + std::to_string(self->route_->spec().timeout.count()) + "ms"
              : "read: " + ec.message());
    }
    self->conn_->buffer.commit(n);
    self->parse_response();
  });
}

void ProxySession::parse_response() {
  error_code ec;
  std::size_t used =
      respp_->put(asio::buffer(conn_->buffer.data().data(), conn_->buffer.size()), ec);
  if (ec == http::error::need_more) {
    if (conn_->buffer.full())
      return upstream_failed(Outcome::reset, "read: response header too large");
    return receive_response();
  }
  if (ec) return upstream_failed(Outcome::reset, "read: " + ec.message());
  if (res_.status / 100 == 1 && res_.status != 101) {
    // An interim response (100 Continue, 103 Early Hints): the final one follows.
    conn_->buffer.consume(used);
    return read_response();
  }
  on_response_head(used);
}

void ProxySession::on_response_head(std::size_t header_bytes) {
  deadlines_.clear(Side::upstream);
  int status = res_.status;
  auto end = ctx_->clock.now();
  auto latency = std::chrono::duration_cast<std::chrono::microseconds>(end - attempt_started_);
  if (status >= 500 && may_retry(config::retry_5xx)) {
    record_result(Outcome::http_5xx, latency);
    release_host();
    drop_connection();
    last_error_ = "HTTP " + std::to_string(status);
    return retry();
  }
  // The verdict is in at the response header; the host stays busy until
  // its body has been relayed.
  record_result(status >= 500 ? Outcome::http_5xx : Outcome::success, latency, end);
  phase_ = Phase::relaying_response;
  route_->stats().record(
      status, std::chrono::duration_cast<std::chrono::microseconds>(end - started_), end);
  // An upgrade the instance accepted; one it refused is answered as it is.
  upstream_time_ = latency;
  if (upgrade_ && status == 101) {
    close_access_record(101);  // the tunnel's life is not the request's
    return start_tunnel(header_bytes);
  }
  bool sized = respp_->content_length().has_value();
  if (!respp_->is_done() && !sized && !respp_->chunked() && client_version_ < 11)
    client_keep_alive_ = false;  // body ends when the upstream closes: so must we
  ClientFraming framing{client_version_, client_keep_alive_,
                        needs_chunking(res_, sized, client_version_)};
  out_.clear();
  write_client_head(res_, host_id_, framing, out_);
  conn_->buffer.consume(header_bytes);
  sink_.chunked = framing.chunked && !head_request();
  pump_response_body();
}

void ProxySession::pump_response_body() {
  if (feed(*respp_, conn_->buffer)) return abort_both();  // the instance sent garbage
  if (!out_.empty()) return write_client();
  if (respp_->is_done()) return exchange_done();
  set_upstream_deadline(ctx_->options.body_timeout);
  conn_->socket.async_read_some(
      conn_->buffer.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
        self->deadlines_.clear(Side::upstream);
        if (ec == asio::error::eof && self->respp_->need_eof()) {
          error_code e;
          self->respp_->put_eof(e);  // the body ran to the end of the connection
          if (e) return self->abort_both();
          return self->pump_response_body();
        }
        if (ec) return self->abort_both();  // the instance broke off mid-body
        self->conn_->buffer.commit(n);
        self->pump_response_body();
      });
}

void ProxySession::write_client() {
  bytes_out_ += out_.size();
  error_code ec;
  std::size_t n = client_.write_some(asio::buffer(out_), ec);
  if (!ec && n == out_.size()) return on_client_written({});
  if (ec && !would_block(ec)) return on_client_written(ec);
  set_client_deadline(ctx_->options.body_timeout);
  std::size_t off = ec ? 0 : n;
  asio::async_write(client_, asio::buffer(out_.data() + off, out_.size() - off),
                    [self = shared_from_this()](error_code e, std::size_t) {
                      self->deadlines_.clear(Side::client);
                      self->on_client_written(e);
                    });
}

void ProxySession::on_client_written(error_code ec) {
  out_.clear();
  if (phase_ == Phase::replying_locally) {
    if (ec || !client_keep_alive_) return linger();
    return read_request();
  }
  if (ec) return abort_both();
  if (!respp_->is_done()) return pump_response_body();
  exchange_done();
}

void ProxySession::exchange_done() {
  // A connection that was asked to upgrade (and refused) is not pooled.
  bool reusable =
      respp_->keep_alive() && respp_->is_done() && conn_ && reqp_->is_done() && !upgrade_;
  if (reusable) {
    ++conn_->requests;
    ctx_->pool.put(std::move(conn_), ctx_->clock.now());
  } else {
    drop_connection();
  }
  release_host();
  close_access_record(res_.status);
  if (!client_keep_alive_ || !reqp_->is_done()) return close_client();
  // From the back of the event loop's queue, as for the response: by then
  // the client's next request has often arrived (no wasted recv), and a
  // pipelined request cannot nest calls.
  asio::post(client_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

}  // namespace meshd::gateway::detail
