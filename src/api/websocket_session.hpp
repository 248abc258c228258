#pragma once
// Private to the api module: not part of meshd's public headers (include/meshd/).

// one WebSocket connection of GET /ws.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <optional>
#include <string>

#include "meshd/api/http_types.hpp"
#include "meshd/api/stream_hub.hpp"

namespace meshd::api {

/// A WebSocket client of the StreamHub, after Beast's chat-multi example:
/// it lives by the shared_from_this() its async operations capture, joins
/// the hub once the handshake is done and leaves it when it goes. Messages
/// from the client go to the hub; messages for it wait in its bounded
/// queue, one write in flight, front to back.
class WebSocketSession final : public StreamClient,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<StreamHub> hub,
                   const WebSocketOptions& options, const QueueLimits& limits);
  ~WebSocketSession() override;

  /// Answers the upgrade `request` (already read by the HTTP session) and
  /// starts reading.
  void run(const Request& request);

  std::string remote() const override { return remote_; }
  void wake() override;
  void drop(const std::string& reason) override;

 private:
  void on_accept(boost::beast::error_code ec);
  void read();
  void on_read(boost::beast::error_code ec);
  void write_next();
  void on_write(boost::beast::error_code ec);
  void close_with(boost::beast::websocket::close_code code, const std::string& reason);
  void finish();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::shared_ptr<StreamHub> hub_;
  WebSocketOptions options_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::empty_body> upgrade_request_;
  boost::asio::steady_timer close_timer_;
  std::string remote_;
  bool open_ = false;      // handshake done, joined the hub
  bool closing_ = false;   // dropped: closing with 1008
  bool finished_ = false;  // left the hub; nothing more is written
};

}  // namespace meshd::api
