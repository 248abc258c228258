// The I/O of an HTTP/2 client connection and its nghttp2 callbacks (see
// h2_server_session.hpp); what happens to each stream is in
// h2_server_streams.cpp. Modelled on nghttp2's examples/libevent-server.c:
// bytes read go to nghttp2_session_mem_recv, what nghttp2_session_mem_send
// gives is written, and the connection ends once nghttp2 wants neither.
#include "h2_server_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>

#include "meshd/core/text.hpp"

namespace meshd::gateway::h2 {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kWriteBatch = 64 * 1024;

ServerSession& self_of(void* user_data) {
  return *static_cast<ServerSession*>(user_data);
}

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
  switching_ = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
  auto rv =
      nghttp2_session_upgrade2(session_, reinterpret_cast<const uint8_t*>(upgrade.settings.data()),
                               upgrade.settings.size(), upgrade.method == "HEAD", nullptr);
  if (rv != 0) {
    // The settings did not parse: nothing was switched, so say so in HTTP/1.1.
    switching_.clear();
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

void ServerSession::schedule_flush() {
  if (flush_queued_ || closed_) return;
  flush_queued_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_queued_ = false;
    self->flush();
  });
}

void ServerSession::flush() {
  if (closed_ || writing_) return;
  out_.clear();
  out_.swap(switching_);
  while (out_.size() < kWriteBatch) {
    const uint8_t* data;
    auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return close();
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  if (out_.empty()) {
    if (done()) close();
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->close();
                      self->last_active_ = std::chrono::steady_clock::now();
                      self->flush();
                    });
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
      if (!self->writing_) return self->close();
      // The GOAWAY is being written; a client that never reads it is cut off.
      self->last_active_ = std::chrono::steady_clock::now() - wait + std::chrono::seconds(1);
    }
    if (!self->streams_.empty()) self->last_active_ = std::chrono::steady_clock::now();
    self->arm_idle();
  });
}

// ---- nghttp2 callbacks --------------------------------------------------------

int ServerSession::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = self_of(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_shared<Stream>();
  s->id = frame->hd.stream_id;
  s->session = self.weak_from_this();
  self.streams_.emplace(s->id, std::move(s));
  self.any_stream_ = true;
  return 0;
}

int ServerSession::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                             void* user) {
  auto& self = self_of(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto it = self.streams_.find(frame->hd.stream_id);
  if (it == self.streams_.end()) return 0;
  auto& s = *it->second;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // request trailers: dropped
  // nghttp2 has checked the names (lower case, pseudo-headers first and known).
  if (n == ":method")
    s.method.assign(v);
  else if (n == ":scheme")
    s.scheme.assign(v);
  else if (n == ":authority")
    s.authority.assign(v);
  else if (n == ":path")
    s.path.assign(v);
  else if (n.empty() || n[0] == ':')
    return 0;
  else {
    if (n == "content-type") s.content_type.assign(v);
    if (n == "grpc-timeout") s.grpc_timeout.assign(v);
    if (n == "host" && s.authority.empty()) s.authority.assign(v);
    s.headers.push_back({std::string(n), std::string(v)});
  }
  return 0;
}

int ServerSession::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(frame->hd.stream_id);
  if (it == self.streams_.end()) return 0;
  auto s = it->second;  // a copy: on_request may close the stream
  bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->body_complete = end;
    self.on_request(*s);
  } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end) {
    s->body_complete = true;
    if (s->call) s->call->request_body_ready();
  }
  return 0;
}

int ServerSession::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                                 const uint8_t* data, size_t len, void* user) {
  auto& self = self_of(user);
  nghttp2_session_consume_connection(session, len);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return 0;
  auto& s = *it->second;
  if (s.responded && !s.call) {
    // Answered already (an error of the gateway's own): the rest of the
    // body is read and dropped, so the client can finish sending it.
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  s.body.append(reinterpret_cast<const char*>(data), len);
  s.body_received += len;
  if (s.call) s.call->request_body_ready();
  return 0;
}

int ServerSession::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return 0;
  auto s = std::move(it->second);
  self.streams_.erase(it);
  s->closed = true;
  if (s->call) s->call->cancel();
  s->call.reset();
  self.record_result(*s, Outcome::cancelled);
  self.release_host(*s);
  self.log_stream(*s, "HTTP/2");
  return 0;
}

ssize_t ServerSession::read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                          size_t length, uint32_t* flags, nghttp2_data_source*,
                                          void* user) {
  auto& self = self_of(user);
  auto it = self.streams_.find(stream_id);
  if (it == self.streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  auto& s = *it->second;
  std::size_t n = std::min(length, s.res_pending());
  std::memcpy(buf, s.res_body.data() + s.res_off, n);
  s.res_off += n;
  s.bytes_out += n;
  if (s.res_off == s.res_body.size()) {
    s.res_body.clear();
    s.res_off = 0;
  }
  if (n > 0 && s.call) s.call->response_consumed(n);
  if (s.res_pending() == 0 && s.res_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s.trailers.empty()) {
      std::vector<nghttp2_nv> nv;
      for (auto& h : s.trailers)
        nv.push_back({reinterpret_cast<uint8_t*>(h.name.data()),
                      reinterpret_cast<uint8_t*>(h.value.data()), h.name.size(), h.value.size(),
                      NGHTTP2_NV_FLAG_NONE});
      if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
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

std::optional<std::string> decode_base64url(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-' || c == '+' ? 62
            : c == '_' || c == '/' ? 63
                                   : -1;
    if (c == '=') break;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

namespace {

// Whether a comma-separated field value has `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    auto part = value.substr(pos, comma == std::string_view::npos ? value.npos : comma - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (core::iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<H2cUpgrade> h2c_upgrade(const MessageHead& req, bool has_body) {
  namespace http = boost::beast::http;
  // The Upgrade field first: for nearly every request its absence ends this.
  auto upgrade = req[http::field::upgrade];
  if (upgrade.empty() || has_body || req.version != 11) return std::nullopt;
  auto connection = req[http::field::connection];
  if (!has_token(upgrade, "h2c") || !has_token(connection, "upgrade") ||
      !has_token(connection, "http2-settings") || !req.has("http2-settings"))
    return std::nullopt;
  auto settings = decode_base64url(req["http2-settings"]);
  if (!settings) return std::nullopt;
  H2cUpgrade u;
  u.method.assign(req.method_string);
  u.target.assign(req.target);
  u.authority.assign(req[http::field::host]);
  u.settings = std::move(*settings);
  for (const auto& f : req.fields) {
    std::string name = core::lower(f.name_string);
    if (name == "connection" || name == "upgrade" || name == "http2-settings" || name == "host" ||
        name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
        name == "te" || has_token(connection, name))
      continue;
    u.headers.push_back({std::move(name), std::string(f.value)});
  }
  return u;
}

}  // namespace meshd::gateway::h2
