#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// one HTTP/1.1 connection of the API server.

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "meshd/api/http_server.hpp"
#include "meshd/api/router.hpp"
#include "meshd/core/error.hpp"
#include "meshd/core/lingering.hpp"

namespace meshd::api {

/// One connection, after Beast's http_session: it lives by the
/// shared_from_this() its async operations capture, reads one request at a
/// time, hands it to the Router and writes the answer whenever the handler
/// gives it (a parked blocking query answers up to its wait later). A
/// WebSocket upgrade hands the socket over and ends the session.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, const Router& router,
              const HttpServerOptions& options, std::shared_ptr<const HttpServer::Upgrade> upgrade);

  void start() { read(); }

  /// The two halves of sending an answer, apart so that a ResponseBatch
  /// can make every connection's send in one tight loop and the
  /// bookkeeping after (src/api/response_batch.cpp).
  ///
  /// Sends what fits in the socket's buffer now, without an async
  /// operation; returns the bytes sent (`ec` set on a real error).
  std::size_t send_now(boost::beast::error_code& ec);
  /// Sends the rest asynchronously, under the timeout, and goes on to the
  /// next request.
  void after_send(std::size_t sent, boost::beast::error_code ec);

 private:
  void read();
  void on_read(boost::beast::error_code ec);
  void respond(Response response);
  void watch_peer();
  void on_peer_ready(boost::beast::error_code ec);
  void on_upgrade(Request request, bool is_upgrade);
  bool cors_allowed(const std::string& origin) const;
  void write(Response response);
  void set_answer(const Response& fields, std::string_view body,
                  std::shared_ptr<const void> holder);
  void send();
  void on_write(boost::beast::error_code ec);
  void next();
  void reply_and_close(const core::Error& error);
  void close();
  void linger();
  void drain();

  // What answering a request touches comes first: a wake-up answers a
  // thousand sessions in a row, and each one's cache misses add up.
  int fd_ = -1;                    // the socket, for send_now()
  bool awaiting_ = false;          // a request was dispatched and is not answered yet
  bool watching_ = false;          // an async_wait for a hang-up is outstanding
  bool next_after_watch_ = false;  // the answer is written; go on once the wait completes
  bool keep_alive_ = true;
  bool head_ = false;
  bool stale_ = false;  // the answer being written carries X-Mesh-Stale
  unsigned version_ = 11;
  std::shared_ptr<Hangup> hangup_;
  std::array<boost::asio::const_buffer, 2> out_buffers_;  // the answer being sent
  std::array<std::shared_ptr<const void>, 2> out_keep_;   // what holds their bytes
  std::string cors_origin_;  // echoed in Access-Control-Allow-Origin when allowed
  boost::beast::tcp_stream stream_;
  const Router& router_;
  HttpServerOptions options_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string remote_;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering
  std::chrono::steady_clock::time_point linger_until_{};  // lingering ends by then at the latest
  std::shared_ptr<const HttpServer::Upgrade> upgrade_;
};

}  // namespace meshd::api
