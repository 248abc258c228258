#include "etcd_connection.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>

namespace meshd::cluster {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> make_stream(
    asio::io_context& io, const EtcdSettings& settings, std::size_t index) {
  if (settings.endpoints[index].tls) {
    return std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>(
        std::in_place_index<1>, io, *settings.tls);
  }
  return std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>>(
      std::in_place_index<0>, io);
}

}  // namespace

EtcdConnection::EtcdConnection(asio::io_context& io, std::shared_ptr<const EtcdSettings> settings,
                               std::size_t endpoint_index)
    : settings_(std::move(settings)),
      endpoint_index_(endpoint_index),
      stream_(make_stream(io, *settings_, endpoint_index)),
      resolver_(io),
      resolve_deadline_(io) {}

EtcdConnection::Plain& EtcdConnection::lowest() {
  return std::visit([](auto& s) -> Plain& { return beast::get_lowest_layer(s); }, stream_);
}

void EtcdConnection::connect(Handler done) {
  stage_ = "resolve";
  // The resolver has no deadline of its own.
  std::weak_ptr<EtcdConnection> weak = weak_from_this();
  resolve_deadline_.expires_after(settings_->connect_timeout);
  resolve_deadline_.async_wait([weak](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->resolver_.cancel();
  });
  resolver_.async_resolve(
      endpoint().host, endpoint().port,
      [self = shared_from_this(), done = std::move(done)](
          error_code ec, tcp::resolver::results_type results) mutable {
        const bool timed_out = self->resolve_deadline_.cancel() == 0;
        if (ec) {
          done(ec == asio::error::operation_aborted && timed_out && !self->closed_
                   ? error_code(beast::error::timeout)
                   : ec);
          return;
        }
        self->on_resolved(std::move(results), std::move(done));
      });
}

void EtcdConnection::on_resolved(tcp::resolver::results_type results, Handler done) {
  if (closed_) {
    done(asio::error::operation_aborted);
    return;
  }
  stage_ = "connect";
  lowest().expires_after(settings_->connect_timeout);
  lowest().async_connect(results, [self = shared_from_this(), done = std::move(done)](
                                      error_code ec, const tcp::endpoint&) mutable {
    if (ec) {
      done(ec);
      return;
    }
    self->on_connected(std::move(done));
  });
}

void EtcdConnection::on_connected(Handler done) {
  error_code ignored;
  lowest().socket().set_option(tcp::no_delay(true), ignored);
  auto* tls = std::get_if<Tls>(&stream_);
  if (tls == nullptr) {
    done({});
    return;
  }
  stage_ = "TLS handshake";
  const std::string& host = endpoint().host;
  error_code not_address;
  asio::ip::make_address(host, not_address);
  if (not_address) {
    // SNI, for members behind a name; not sent for an IP address (RFC 6066).
    // (SSL_set_tlsext_host_name is a macro with a C cast.)
    SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  tls->set_verify_mode(asio::ssl::verify_peer);
  tls->set_verify_callback(asio::ssl::host_name_verification(host));
  tls->async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this(), done = std::move(done)](error_code ec) { done(ec); });
}

void EtcdConnection::expires_after(std::chrono::milliseconds limit) {
  lowest().expires_after(limit);
}

void EtcdConnection::expires_never() {
  lowest().expires_never();
}

void EtcdConnection::keep_alive_probes() {
  error_code ignored;
  lowest().socket().set_option(asio::socket_base::keep_alive(true), ignored);
}

void EtcdConnection::write(EtcdRequest& request, Handler done) {
  stage_ = "send";
  std::visit(
      [&](auto& s) {
        http::async_write(s, request,
                          [self = shared_from_this(), done = std::move(done)](
                              error_code ec, std::size_t) { done(ec); });
      },
      stream_);
}

void EtcdConnection::read_header(EtcdResponseParser& parser, Handler done) {
  stage_ = "receive";
  std::visit(
      [&](auto& s) {
        http::async_read_header(s, buffer_, parser,
                                [self = shared_from_this(), done = std::move(done)](
                                    error_code ec, std::size_t) { done(ec); });
      },
      stream_);
}

void EtcdConnection::read_some(EtcdResponseParser& parser, Handler done) {
  stage_ = "receive";
  std::visit(
      [&](auto& s) {
        http::async_read_some(s, buffer_, parser,
                              [self = shared_from_this(), done = std::move(done)](
                                  error_code ec, std::size_t) { done(ec); });
      },
      stream_);
}

void EtcdConnection::read(EtcdResponseParser& parser, Handler done) {
  stage_ = "receive";
  std::visit(
      [&](auto& s) {
        http::async_read(s, buffer_, parser,
                         [self = shared_from_this(), done = std::move(done)](
                             error_code ec, std::size_t) { done(ec); });
      },
      stream_);
}

bool EtcdConnection::usable_when_idle() {
  if (closed_ || buffer_.size() != 0 || !lowest().socket().is_open()) return false;
  char byte = 0;
  const auto n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: the member closed it; > 0: bytes nobody asked for (a TLS alert).
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void EtcdConnection::close() {
  if (closed_) return;
  closed_ = true;
  resolver_.cancel();
  resolve_deadline_.cancel();
  lowest().close();
}

}  // namespace meshd::cluster
