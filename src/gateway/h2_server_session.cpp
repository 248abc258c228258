// The I/O of an HTTP/2 client connection (see h2_server_session.hpp); its
// nghttp2 callbacks are in h2_server_callbacks.cpp, what happens to each
// stream in h2_stream_router.cpp. Modelled on nghttp2's examples/libevent-server.c:
// bytes read go to nghttp2_session_mem_recv, what nghttp2_session_mem_send
// gives is written, and the connection ends once nghttp2 wants neither.
#include "h2_server_session.hpp"

#include <boost/asio/write.hpp>
#include <charconv>

namespace meshd::gateway::h2 {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;

}  // namespace

ServerSession::ServerSession(std::shared_ptr<GatewayContext> ctx, Socket socket)
    : StreamRouter(std::move(ctx)),
      socket_(std::move(socket)),
      in_(new char[kReadSize]),
      idle_timer_(socket_.get_executor()) {
  ++ctx_->connections;
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
  nghttp2_session_callbacks* cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Window updates are ours to send: a stream's window reopens as its
  // body leaves for the instance, so a fast client cannot fill memory.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
}

ServerSession::~ServerSession() {
  for (auto& [id, s] : streams_) {
    if (s->call) s->call->cancel();
    s->call.reset();
    record_result(*s, Outcome::cancelled);
    release_host(*s);
  }
  nghttp2_session_del(session_);
  --ctx_->connections;
}

void ServerSession::start_upgraded(H2cUpgrade upgrade, std::string_view received) {
  write_first("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
  auto rv =
      nghttp2_session_upgrade2(session_, reinterpret_cast<const uint8_t*>(upgrade.settings.data()),
                               upgrade.settings.size(), upgrade.method == "HEAD", nullptr);
  if (rv != 0) {
    // The settings did not parse: nothing was switched, so say so in HTTP/1.1.
    drop_first();
    static constexpr std::string_view kBad =
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    error_code ignored;
    asio::write(socket_, asio::buffer(kBad), ignored);
    return close();
  }
  auto s = std::make_shared<Stream>();
  s->id = 1;
  s->session = weak_from_this();
  s->method = std::move(upgrade.method);
  s->scheme = "http";
  s->path = std::move(upgrade.target);
  s->authority = std::move(upgrade.authority);
  s->headers = std::move(upgrade.headers);
  for (const auto& h : s->headers) {
    if (h.name == "content-type") s->content_type = h.value;
    if (h.name == "grpc-timeout") s->grpc_timeout = h.value;
  }
  s->body_complete = true;
  streams_.emplace(1, s);
  any_stream_ = true;
  start(received);
  if (!closed_ && !s->closed && !s->responded && !s->route) on_request(*s);
  flush();
}

void ServerSession::start(std::string_view received) {
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamBuffer)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  // The connection's window is reopened as bytes arrive (each stream's
  // own window bounds what it buffers); a larger one avoids a round trip.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
  last_active_ = std::chrono::steady_clock::now();
  arm_idle();
  on_read(received.data(), received.size());
  if (!closed_) read();
}

void ServerSession::read() {
  socket_.async_read_some(asio::buffer(in_.get(), kReadSize),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            if (self->closed_) return;
                            if (ec) return self->close();
                            self->on_read(self->in_.get(), n);
                            if (!self->closed_) self->read();
                          });
}

void ServerSession::on_read(const char* data, std::size_t n) {
  last_active_ = std::chrono::steady_clock::now();
  auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), n);
  if (rv < 0) {
    // A protocol error nghttp2 could not answer on the connection itself
    // (it queues GOAWAY for those it can): what is queued goes, then close.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
  }
  flush();
}

void ServerSession::on_send_failed(int) {
  close();
}

void ServerSession::on_nothing_to_send() {
  if (done()) close();
}

void ServerSession::on_written(error_code ec) {
  if (ec) return close();
  last_active_ = std::chrono::steady_clock::now();
}

bool ServerSession::done() const {
  return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
}

void ServerSession::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  idle_timer_.cancel();
  for (auto& [id, s] : streams_) {
    s->closed = true;
    if (s->call) s->call->cancel();
    s->call.reset();
    record_result(*s, Outcome::cancelled);
    release_host(*s);
    log_stream(*s, "HTTP/2");
  }
  streams_.clear();
}

// One timer for the connection: before its first request the header
// timeout applies, between streams the idle timeout (as on the HTTP/1.1
// path); then the connection ends with GOAWAY(NO_ERROR).
void ServerSession::arm_idle() {
  auto limit = any_stream_ ? ctx_->options.idle_timeout : ctx_->options.header_timeout;
  idle_timer_.expires_at(last_active_ + limit);
  idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->closed_) return;
    auto wait =
        self->any_stream_ ? self->ctx_->options.idle_timeout : self->ctx_->options.header_timeout;
    if (self->streams_.empty() && std::chrono::steady_clock::now() >= self->last_active_ + wait) {
      nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
      self->flush();
      if (!self->writing()) return self->close();
      // The GOAWAY is being written; a client that never reads it is cut off.
      self->last_active_ = std::chrono::steady_clock::now() - wait + std::chrono::seconds(1);
    }
    if (!self->streams_.empty()) self->last_active_ = std::chrono::steady_clock::now();
    self->arm_idle();
  });
}

// ---- the client side of streams (StreamRouter) ------------------------------------

void ServerSession::respond(Stream& s, int status, const Headers& headers, bool with_body) {
  char code[8];
  std::string_view status_text(
      code, static_cast<std::size_t>(std::to_chars(code, code + sizeof code, status).ptr - code));
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size() + 1);
  static constexpr std::string_view kStatus = ":status";
  auto add = [&nv](std::string_view n, std::string_view v) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                  NGHTTP2_NV_FLAG_NONE});
  };
  add(kStatus, status_text);
  for (const auto& h : headers) add(h.name, h.value);
  nghttp2_data_provider body{};
  body.read_callback = read_response_body;
  s.responded = true;
  nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), with_body ? &body : nullptr);
  schedule_flush();
}

void ServerSession::reset(Stream& s) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  schedule_flush();
}

void ServerSession::body_ready(Stream& s) {
  if (s.closed || !s.responded) return;
  nghttp2_session_resume_data(session_, s.id);
  schedule_flush();
}

void ServerSession::request_body_sent(Stream& s, std::uint64_t upto) {
  if (s.closed) return;
  if (upto > s.consumed) {
    nghttp2_session_consume_stream(session_, s.id, upto - s.consumed);
    s.consumed = upto;
    schedule_flush();
  }
  s.sent_upto(upto);
}

std::shared_ptr<Stream> ServerSession::shared(const Stream& s) const {
  auto it = streams_.find(s.id);
  return it == streams_.end() ? nullptr : it->second;
}

std::shared_ptr<StreamRouter> ServerSession::keep() {
  if (closed_) return nullptr;
  return shared_from_this();
}

void start_h2_session(std::shared_ptr<GatewayContext> ctx, Socket socket,
                      std::string_view received) {
  std::make_shared<ServerSession>(std::move(ctx), std::move(socket))->start(received);
}

void start_h2c_upgrade(std::shared_ptr<GatewayContext> ctx, Socket socket, H2cUpgrade upgrade,
                       std::string_view received) {
  std::make_shared<ServerSession>(std::move(ctx), std::move(socket))
      ->start_upgraded(std::move(upgrade), received);
}

}  // namespace meshd::gateway::h2
