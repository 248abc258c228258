#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "etcd_settings.hpp"

namespace meshd::cluster {

using EtcdRequest = boost::beast::http::request<boost::beast::http::string_body>;
using EtcdResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// One HTTP/1.1 connection to one etcd member, plain or TLS: the rest of
/// the client speaks to it without knowing which. Every handler runs on
/// the io_context's thread; the connection keeps itself alive while an
/// operation is pending, and close() cancels them all.
class EtcdConnection : public std::enable_shared_from_this<EtcdConnection> {
 public:
  using Handler = std::function<void(boost::system::error_code)>;

  EtcdConnection(boost::asio::io_context& io, std::shared_ptr<const EtcdSettings> settings,
                 std::size_t endpoint_index);
  EtcdConnection(const EtcdConnection&) = delete;
  EtcdConnection& operator=(const EtcdConnection&) = delete;

  const Endpoint& endpoint() const { return settings_->endpoints[endpoint_index_]; }
  std::size_t endpoint_index() const { return endpoint_index_; }
  /// What was being done when the last error happened ("connect",
  /// "TLS handshake", ...), for the operator's message.
  const char* stage() const { return stage_; }

  /// Resolves, connects and, for https, does the TLS handshake (checking
  /// the member's certificate against the CA and the host name), all
  /// within connect_timeout.
  void connect(Handler done);
  /// A deadline for everything that follows, until changed.
  void expires_after(std::chrono::milliseconds limit);
  void expires_never();
  /// TCP keep-alive probes, for a connection that may stay quiet for long.
  void keep_alive_probes();

  /// `request` and `parser` must live until the handler runs.
  void write(EtcdRequest& request, Handler done);
  void read_header(EtcdResponseParser& parser, Handler done);
  void read_some(EtcdResponseParser& parser, Handler done);
  void read(EtcdResponseParser& parser, Handler done);

  /// For a connection coming out of the idle pool: false when the member
  /// closed it (or sent something unasked) meanwhile.
  bool usable_when_idle();
  void close();
  bool closed() const { return closed_; }

 private:
  using Plain = boost::beast::tcp_stream;
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  Plain& lowest();
  void on_resolved(boost::asio::ip::tcp::resolver::results_type results, Handler done);
  void on_connected(Handler done);

  std::shared_ptr<const EtcdSettings> settings_;
  std::size_t endpoint_index_;
  std::variant<Plain, Tls> stream_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer resolve_deadline_;
  boost::beast::flat_buffer buffer_;
  const char* stage_ = "connect";
  bool closed_ = false;
};

}  // namespace meshd::cluster
