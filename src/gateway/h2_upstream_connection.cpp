// One h2c connection to an instance and its calls (see h2_upstream_connection.hpp).
#include "h2_upstream_connection.hpp"

#include <boost/asio/post.hpp>
#include <charconv>
#include <cstring>

#include "h2_body_timeout.hpp"
#include "h2_upstream.hpp"
#include "meshd/core/listen.hpp"

namespace meshd::gateway::h2::upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;

}  // namespace

void Call::fail(Outcome outcome, std::string what) {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  auto keep = shared_from_this();
  if (auto session = stream_->session.lock())
    session->on_upstream_failed(*stream_, outcome, std::move(what));
}

void Call::request_body_ready() {
  if (!finished_ && id_ > 0) conn_->resume(id_);
}

void Call::response_consumed(std::size_t n) {
  // The window reopens now: the instance's silence is timed from here.
  last_data_ = std::chrono::steady_clock::now();
  if (id_ > 0) conn_->consume(id_, n);
}

// The response body's idle timeout and a gRPC call's deadline over it
// (h2_body_timeout.hpp): the instance's stream is reset, the call a timeout.
void Call::watch_body() {
  last_data_ = std::chrono::steady_clock::now();
  arm_body_timer();
}

void Call::arm_body_timer() {
  auto limits = body_timeout_for(*stream_);
  deadline_.expires_at(limits.due(last_data_));
  deadline_.async_wait([weak = weak_from_this(), limits](error_code ec) {
    auto c = weak.lock();
    if (ec || !c || c->finished_) return;
    auto why = limits.expired(std::chrono::steady_clock::now(), c->last_data_,
                              c->stream_->res_pending() > 0);
    if (!why) return c->arm_body_timer();
    if (c->id_ > 0) c->conn_->rst(c->id_);
    c->fail(Outcome::timeout, std::move(*why));
  });
}

void Call::cancel() {
  if (finished_) return;
  finished_ = true;
  deadline_.cancel();
  if (id_ > 0) conn_->rst(id_);
}

Connection::Connection(GatewayContext& ctx, std::function<void(const Connection*)> on_dead)
    : ctx_(ctx),
      on_dead_(std::move(on_dead)),
      socket_(ctx.io.get_executor()),
      idle_(ctx.io),
      in_(new char[kReadSize]) {
  nghttp2_session_callbacks* cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // The response window reopens as the client takes the body.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_client_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamBuffer)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 * 1024 * 1024);
}

Connection::~Connection() {
  nghttp2_session_del(session_);
}

bool Connection::usable() const {
  return !dead_ && !goaway_ && calls_.size() < kStreamsPerConnection &&
         calls_.size() <
             nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

void Connection::rst(std::int32_t id) {
  if (dead_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  schedule_flush();
}

void Connection::consume(std::int32_t id, std::size_t n) {
  if (dead_) return;
  nghttp2_session_consume_stream(session_, id, n);
  schedule_flush();
}

void Connection::resume(std::int32_t id) {
  if (dead_) return;
  nghttp2_session_resume_data(session_, id);
  schedule_flush();
}

void Connection::connect(const std::string& address, std::uint16_t port) {
  error_code ec;
  auto ip = core::host_address(address, ec);
  auto self = shared_from_this();
  if (ec) {
    asio::post(socket_.get_executor(), [self, address] {
      self->die("cannot connect to " + address + ": not an IP address");
    });
    return;
  }
  socket_.async_connect(tcp::endpoint(ip, port), [self](error_code e) {
    if (self->dead_) return;
    if (e) return self->die("connect: " + e.message());
    error_code ignored;
    self->socket_.set_option(tcp::no_delay(true), ignored);
    self->connected_ = true;
    self->read();
    self->flush();
  });
}

void Connection::submit(const std::shared_ptr<Call>& c, const std::string& host_authority,
                        const std::string& client_ip) {
  auto& s = *c->stream_;
  Headers headers = forward_headers(s, client_ip);
  const std::string& authority = s.authority.empty() ? host_authority : s.authority;
  static const std::string kMethod = ":method", kScheme = ":scheme", kAuthority = ":authority",
                           kPath = ":path", kHttp = "http";
  std::vector<nghttp2_nv> nv;
  auto add = [&nv](const std::string& n, const std::string& v) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                  NGHTTP2_NV_FLAG_NONE});
  };
  add(kMethod, s.method);
  add(kScheme, kHttp);
  add(kAuthority, authority);
  add(kPath, s.upstream_path);
  for (const auto& h : headers) add(h.name, h.value);
  nghttp2_data_provider body{};
  body.source.ptr = c.get();
  body.read_callback = read_request_body;
  bool has_body = !(s.body_complete && s.body_received == 0);
  auto id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                   has_body ? &body : nullptr, c.get());
  if (id < 0) {
    std::weak_ptr<Call> weak = c;
    asio::post(socket_.get_executor(), [weak, id] {
      if (auto call = weak.lock())
        call->fail(Outcome::connect_failure, std::string("h2c: ") + nghttp2_strerror(id));
    });
    return;
  }
  c->id_ = id;
  calls_.emplace(id, c);
  schedule_flush();
}

void Connection::read() {
  socket_.async_read_some(asio::buffer(in_.get(), kReadSize), [self = shared_from_this()](
                                                                  error_code ec, std::size_t n) {
    if (self->dead_) return;
    if (ec) return self->die("read: " + ec.message());
    auto rv = nghttp2_session_mem_recv(self->session_,
                                       reinterpret_cast<const uint8_t*>(self->in_.get()), n);
    if (rv < 0) return self->die(std::string("h2c: ") + nghttp2_strerror(static_cast<int>(rv)));
    self->flush();
    if (!self->dead_) self->read();
  });
}

void Connection::on_send_failed(int rv) {
  die(std::string("h2c: ") + nghttp2_strerror(rv));
}

void Connection::on_nothing_to_send() {
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
    die("the instance closed the connection (GOAWAY)");
  else if (calls_.empty())
    arm_idle();
}

void Connection::on_written(error_code ec) {
  if (ec) die("write: " + ec.message());
}

// Idle connections close after the pool's idle limit, as HTTP/1.1 ones do.
void Connection::arm_idle() {
  idle_.expires_after(ctx_.options.upstream_idle);
  idle_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->dead_ || !self->calls_.empty()) return;
    self->die("idle");
  });
}

void Connection::die(const std::string& why) {
  if (dead_) return;
  dead_ = true;
  auto self = shared_from_this();
  if (on_dead_) std::exchange(on_dead_, nullptr)(this);
  error_code ignored;
  socket_.close(ignored);
  idle_.cancel();
  auto calls = std::move(calls_);
  calls_.clear();
  // Before the connection was up nothing reached the instance: a connect
  // failure. After, whatever was in flight was reset.
  for (auto& [id, c] : calls) c->fail(connected_ ? Outcome::reset : Outcome::connect_failure, why);
}

int Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                          size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                          void* user) {
  auto& self = *static_cast<Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* c = self.call(frame->hd.stream_id);
  if (!c || c->finished_) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (c->got_head_) {
    c->trailers_.push_back({std::string(n), std::string(v)});
  } else if (n == ":status") {
    std::from_chars(v.data(), v.data() + v.size(), c->status_);
  } else if (!n.empty() && n[0] != ':') {
    c->head_.push_back({std::string(n), std::string(v)});
  }
  return 0;
}

int Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<Connection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self.goaway_ = true;  // no new streams; nghttp2 refuses those past last_stream_id
    return 0;
  }
  auto* c = self.call(frame->hd.stream_id);
  if (!c || c->finished_) return 0;
  auto keep = c->shared_from_this();
  bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (!c->got_head_) {
      if (c->status_ / 100 == 1) {  // an interim response: the final one follows
        c->head_.clear();
        c->status_ = 0;
        return 0;
      }
      c->got_head_ = true;
      c->deadline_.cancel();
      if (end)
        c->finished_ = true;
      else
        c->watch_body();
      if (auto session = c->stream_->session.lock())
        session->on_response_head(*c->stream_, c->status_, std::move(c->head_), end);
      return 0;
    }
    if (end) {
      c->finished_ = true;
      c->deadline_.cancel();
      if (auto session = c->stream_->session.lock())
        session->on_response_end(*c->stream_, std::move(c->trailers_));
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end && c->got_head_) {
    c->finished_ = true;
    c->deadline_.cancel();
    if (auto session = c->stream_->session.lock()) session->on_response_end(*c->stream_, {});
  }
  return 0;
}

int Connection::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                              const uint8_t* data, size_t len, void* user) {
  auto& self = *static_cast<Connection*>(user);
  nghttp2_session_consume_connection(session, len);
  auto* c = self.call(stream_id);
  if (!c || c->finished_ || !c->got_head_) {
    nghttp2_session_consume_stream(session, stream_id, len);
    return 0;
  }
  c->last_data_ = std::chrono::steady_clock::now();
  c->stream_->res_body.append(reinterpret_cast<const char*>(data), len);
  if (auto s = c->stream_->session.lock()) s->on_response_data(*c->stream_);
  return 0;
}

int Connection::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t reason, void* user) {
  auto& self = *static_cast<Connection*>(user);
  auto it = self.calls_.find(stream_id);
  if (it == self.calls_.end()) return 0;
  auto c = std::move(it->second);
  self.calls_.erase(it);
  c->id_ = -1;
  if (!c->finished_)
    c->fail(Outcome::reset,
            std::string("the instance reset the stream: ") + nghttp2_http2_strerror(reason));
  return 0;
}

ssize_t Connection::read_request_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                      uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* c = static_cast<Call*>(source->ptr);
  auto& s = *c->stream_;
  if (c->sent_ < s.body_base) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  std::size_t off = c->sent_ - s.body_base;
  std::size_t n = std::min(length, s.body.size() - off);
  std::memcpy(buf, s.body.data() + off, n);
  c->sent_ += n;
  bool eof = s.body_complete && c->sent_ == s.body_received;
  if (eof) *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (n > 0) {
    if (auto session = s.session.lock()) session->request_body_sent(s, c->sent_);
  }
  if (n == 0 && !eof) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

}  // namespace meshd::gateway::h2::upstream
