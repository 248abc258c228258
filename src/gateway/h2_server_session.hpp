#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// An HTTP/2 client connection (h2c, prior knowledge): nghttp2 does the
// framing, HPACK, flow control and protocol errors (GOAWAY or RST_STREAM
// with the right code); this class moves bytes between the socket and
// nghttp2 and treats each stream as a request routed and balanced on its
// own, so one long-lived connection spreads its calls over all instances.

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway_context.hpp"
#include "h2_stream.hpp"
#include "h2_stream_router.hpp"
#include "h2_upgrade.hpp"
#include "h2_writer.hpp"
#include "meshd/core/error.hpp"

namespace meshd::gateway::h2 {

/// Streams one client connection may have open at once.
constexpr std::uint32_t kMaxConcurrentStreams = 128;

class ServerSession : public StreamRouter,
                      public H2Writer<ServerSession>,
                      public std::enable_shared_from_this<ServerSession> {
 public:
  ServerSession(std::shared_ptr<GatewayContext> ctx, Socket socket);
  ~ServerSession() override;

  /// Starts with the bytes already read from the socket (the preface and
  /// whatever followed it).
  void start(std::string_view received);
  /// Starts after `HTTP/1.1 101` to an h2c upgrade: the request is stream 1.
  void start_upgraded(H2cUpgrade upgrade, std::string_view received);

  void request_body_sent(Stream& s, std::uint64_t upto) override;

 private:
  void respond(Stream& s, int status, const Headers& headers, bool with_body) override;
  void reset(Stream& s) override;
  bool trailers_reach_client(const Stream&) const override { return true; }
  void body_ready(Stream& s) override;
  std::shared_ptr<Stream> shared(const Stream& s) const override;
  std::shared_ptr<StreamRouter> keep() override;

  // ---- I/O --------------------------------------------------------------------
  void read();
  void on_read(const char* data, std::size_t n);
  void close();
  void arm_idle();
  bool done() const;

  // The write loop (h2_writer.hpp).
  friend class H2Writer<ServerSession>;
  Socket& socket() { return socket_; }
  nghttp2_session* h2() { return session_; }
  bool may_write() const { return !closed_; }
  void on_send_failed(int rv);
  void on_nothing_to_send();
  void on_written(boost::system::error_code ec);

  // nghttp2 callbacks (h2_server_callbacks.cpp).
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                       const uint8_t*, size_t, uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int on_stream_close(nghttp2_session*, int32_t, uint32_t, void*);
  static ssize_t read_response_body(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                                    nghttp2_data_source*, void*);

  Socket socket_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<Stream>> streams_;
  std::unique_ptr<char[]> in_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, Executor>
      idle_timer_;
  std::chrono::steady_clock::time_point last_active_{};
  bool closed_ = false, any_stream_ = false;
};

/// Serves a connection that began with the HTTP/2 preface; `received` is
/// what has been read from it so far.
void start_h2_session(std::shared_ptr<GatewayContext> ctx, Socket socket,
                      std::string_view received);
/// Answers an h2c upgrade with 101 and serves the connection as HTTP/2.
void start_h2c_upgrade(std::shared_ptr<GatewayContext> ctx, Socket socket, H2cUpgrade upgrade,
                       std::string_view received);

}  // namespace meshd::gateway::h2
