// An upgraded connection (WebSocket, RFC 6455) through the gateway: once
// the instance answers 101 Switching Protocols, the client connection and
// the upstream one are joined and bytes go both ways as they come, with no
// parsing, until either side closes or both stay silent for the service's
// idle_timeout. The instance stays busy (active_requests) for as long as
// the tunnel lives, so stopping it drains the tunnel like a request, up to
// its shutdown timeout.
#include "proxy_session.hpp"

namespace meshd::gateway::detail {

void ProxySession::start_tunnel(std::size_t header_bytes) {
  phase_ = Phase::tunneling;
  tunneling_ = true;
  route_->stats().upgrade_opened();
  out_.clear();
  write_client_head(res_, host_id_, ClientFraming{client_version_, true, false}, out_);
  conn_->buffer.consume(header_bytes);
  // What the instance sent right after its 101 goes out with it.
  auto early = conn_->buffer.data();
  out_.append(early.data(), early.size());
  conn_->buffer.consume(early.size());
  touch_tunnel();
  asio::async_write(client_, asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      if (ec) return self->end_tunnel();
                      self->out_.clear();
                      self->tunnel_to_client();
                    });
  tunnel_to_upstream();
}

void ProxySession::touch_tunnel() {
  auto idle = route_->spec().idle_timeout;
  set_client_deadline(idle);
  set_upstream_deadline(idle);
}

void ProxySession::tunnel_to_upstream() {
  if (in_.size() > 0) {
    asio::async_write(conn_->socket, asio::buffer(in_.data().data(), in_.size()),
                      [self = shared_from_this()](error_code ec, std::size_t n) {
                        if (ec) return self->end_tunnel();
                        self->in_.consume(n);
                        self->touch_tunnel();
                        self->tunnel_to_upstream();
                      });
    return;
  }
  client_.async_read_some(in_.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
    if (ec == asio::error::eof) return self->half_close(true);
    if (ec) return self->end_tunnel();
    self->in_.commit(n);
    self->touch_tunnel();
    self->tunnel_to_upstream();
  });
}

void ProxySession::tunnel_to_client() {
  if (conn_->buffer.size() > 0) {
    asio::async_write(client_, asio::buffer(conn_->buffer.data().data(), conn_->buffer.size()),
                      [self = shared_from_this()](error_code ec, std::size_t n) {
                        if (ec) return self->end_tunnel();
                        self->conn_->buffer.consume(n);
                        self->touch_tunnel();
                        self->tunnel_to_client();
                      });
    return;
  }
  conn_->socket.async_read_some(conn_->buffer.prepare(),
                                [self = shared_from_this()](error_code ec, std::size_t n) {
                                  if (ec == asio::error::eof) return self->half_close(false);
                                  if (ec) return self->end_tunnel();
                                  self->conn_->buffer.commit(n);
                                  self->touch_tunnel();
                                  self->tunnel_to_client();
                                });
}

void ProxySession::half_close(bool client_finished) {
  // One side is done sending: tell the other, and let the opposite
  // direction run until it is done too (a WebSocket close handshake ends
  // with both sides closing).
  error_code ignored;
  if (client_finished) {
    client_finished_ = true;
    if (conn_) conn_->socket.shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    upstream_finished_ = true;
    client_.shutdown(tcp::socket::shutdown_send, ignored);
  }
  if (client_finished_ && upstream_finished_) end_tunnel();
}

void ProxySession::end_tunnel() {
  if (!tunneling_) return;
  tunneling_ = false;
  route_->stats().upgrade_closed();
  release_host();
  drop_connection();
  close_client();
}

}  // namespace meshd::gateway::detail
