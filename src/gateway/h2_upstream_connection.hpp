#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// One h2c connection to an instance and the calls it carries, one stream
// each (modelled on nghttp2's examples/libevent-client.c). The pool that
// shares connections among calls is in h2_upstream.cpp.

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "h2_stream.hpp"
#include "h2_writer.hpp"

namespace meshd::gateway::h2::upstream {

class Connection;

/// One attempt of a stream as an h2c stream on a Connection.
class Call final : public UpstreamCall, public std::enable_shared_from_this<Call> {
 public:
  Call(GatewayContext& ctx, std::shared_ptr<Stream> stream, std::shared_ptr<Connection> conn)
      : stream_(std::move(stream)), conn_(std::move(conn)), deadline_(ctx.io) {}

  void request_body_ready() override;
  void response_consumed(std::size_t n) override;
  void cancel() override;

  /// Reports a failure to the stream's session, once.
  void fail(Outcome outcome, std::string what);
  /// The response head is in: from now the body's idle timeout runs.
  void watch_body();

  std::shared_ptr<Stream> stream_;
  std::shared_ptr<Connection> conn_;
  boost::asio::steady_timer deadline_;
  std::int32_t id_ = -1;
  std::uint64_t sent_ = 0;  // absolute request body offset sent so far
  int status_ = 0;
  Headers head_, trailers_;
  std::chrono::steady_clock::time_point last_data_{};  // the body's last DATA (or window update)
  bool got_head_ = false, finished_ = false;

 private:
  void arm_body_timer();
};

/// Streams a connection carries before the pool opens another to the same
/// instance (the instance's own SETTINGS_MAX_CONCURRENT_STREAMS also caps it).
constexpr std::size_t kStreamsPerConnection = 100;

class Connection : public H2Writer<Connection>, public std::enable_shared_from_this<Connection> {
 public:
  /// `on_dead` runs once when the connection ends, so its pool forgets it.
  Connection(GatewayContext& ctx, std::function<void(const Connection*)> on_dead);
  ~Connection();

  void connect(const std::string& address, std::uint16_t port);
  /// Whether it may take one more call.
  bool usable() const;
  bool dead() const { return dead_; }
  std::size_t load() const { return calls_.size(); }
  /// Opens the call's stream: its request headers (and body as it comes).
  void submit(const std::shared_ptr<Call>& call, const std::string& host_authority,
              const std::string& client_ip);
  /// Resets a stream (RST_STREAM CANCEL).
  void rst(std::int32_t id);
  /// The client took `n` bytes of a stream's response: its window reopens.
  void consume(std::int32_t id, std::size_t n);
  /// More request body is there for a stream.
  void resume(std::int32_t id);

 private:
  void read();
  void die(const std::string& why);
  void arm_idle();

  // The write loop (h2_writer.hpp).
  friend class H2Writer<Connection>;
  Socket& socket() { return socket_; }
  nghttp2_session* h2() { return session_; }
  bool may_write() const { return !dead_ && connected_; }
  void on_send_failed(int rv);
  void on_nothing_to_send();
  void on_written(boost::system::error_code ec);

  static int on_header(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                       const uint8_t*, size_t, uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int on_stream_close(nghttp2_session*, int32_t, uint32_t, void*);
  static ssize_t read_request_body(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                                   nghttp2_data_source*, void*);
  Call* call(std::int32_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  GatewayContext& ctx_;
  std::function<void(const Connection*)> on_dead_;
  Socket socket_;
  boost::asio::steady_timer idle_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<Call>> calls_;
  std::unique_ptr<char[]> in_;
  bool connected_ = false, dead_ = false, goaway_ = false;
};

}  // namespace meshd::gateway::h2::upstream
