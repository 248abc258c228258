// An HTTP/2 stream as an HTTP/1.1 exchange (see h2_h1_call.hpp).
#include "h2_h1_call.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "h2_body_timeout.hpp"
#include "h2_upstream.hpp"
#include "http_head.hpp"
#include "meshd/core/listen.hpp"
#include "meshd/core/text.hpp"

namespace meshd::gateway::h2 {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

class H1Call final : public UpstreamCall, public std::enable_shared_from_this<H1Call> {
 public:
  H1Call(GatewayContext& ctx, std::shared_ptr<Stream> stream, std::string key)
      : ctx_(ctx), stream_(std::move(stream)), key_(std::move(key)), deadline_(ctx.io) {}

  void start(const std::string& address, std::uint16_t port,
             std::chrono::steady_clock::duration timeout, const std::string& client_ip) {
    address_ = address;
    port_ = port;
    client_ip_ = client_ip;
    timeout_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    std::weak_ptr<H1Call> weak = shared_from_this();
    deadline_.expires_after(timeout);
    deadline_.async_wait([weak](error_code ec) {
      auto c = weak.lock();
      if (ec || !c || c->finished_ || c->got_head_) return;
      c->fail(Outcome::timeout, "no response within " + std::to_string(c->timeout_ms_) + "ms");
    });
    conn_ = ctx_.pool.take(key_, ctx_.clock.now());
    reused_ = conn_ != nullptr;
    if (conn_) {
      asio::post(ctx_.io, [self = shared_from_this()] { self->send_head(); });
      return;
    }
    connect();
  }

  void request_body_ready() override {
    if (!finished_ && head_sent_ && !writing_ && !request_done_) pump_request();
  }
  void response_consumed(std::size_t) override {
    last_data_ = std::chrono::steady_clock::now();  // the instance may send again from here
    if (paused_ && !finished_) {
      paused_ = false;
      parse();
    }
  }
  void cancel() override {
    if (finished_) return;
    finished_ = true;
    drop();
  }

 private:
  void connect() {
    conn_ = std::make_unique<UpstreamConnection>(ctx_.io);
    conn_->key = key_;
    error_code ec;
    auto ip = core::host_address(address_, ec);
    if (ec) {
      asio::post(ctx_.io, [self = shared_from_this()] {
        self->fail(Outcome::connect_failure,
                   "cannot connect to " + self->address_ + ": not an IP address");
      });
      return;
    }
    conn_->socket.async_connect(
        tcp::endpoint(ip, port_), [self = shared_from_this()](error_code e) {
          if (self->finished_) return;
          if (e) return self->fail(Outcome::connect_failure, "connect: " + e.message());
          error_code ignored;
          self->conn_->socket.set_option(tcp::no_delay(true), ignored);
          self->send_head();
        });
  }

  void send_head() {
    if (finished_) return;
    auto& s = *stream_;
    sent_ = s.body_base;
    out_.clear();
    out_.append(s.method).push_back(' ');
    out_.append(s.upstream_path).append(" HTTP/1.1\r\nHost: ").append(s.authority).append("\r\n");
    std::string length;
    for (const auto& h : forward_headers(s, client_ip_)) {
      if (h.name == "te") continue;
      if (h.name == "content-length") {
        length = h.value;
        continue;
      }
      out_.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    bool bodyless = s.body_complete && s.body_received == 0;
    chunked_ = false;
    if (!length.empty()) {
      out_.append("content-length: ").append(length).append("\r\n");
    } else if (s.body_complete) {
      if (!bodyless || (s.method != "GET" && s.method != "HEAD"))
        out_.append("content-length: ").append(std::to_string(s.body_received)).append("\r\n");
    } else {
      chunked_ = true;
      out_.append("transfer-encoding: chunked\r\n");
    }
    out_.append("\r\n");
    head_sent_ = true;
    request_done_ = false;
    start_response();
    pump_request();
  }

  // Appends what the stream holds of the body past sent_, framed; ends the
  // request when the stream's body is complete.
  void pump_request() {
    auto& s = *stream_;
    std::size_t off = sent_ - s.body_base;
    std::size_t n = s.body.size() - off;
    if (n > 0) {
      if (chunked_) {
        char hex[20];
        auto r = std::to_chars(hex, hex + sizeof hex, n, 16);
        out_.append(hex, r.ptr).append("\r\n");
      }
      out_.append(s.body, off, n);
      if (chunked_) out_.append("\r\n");
      sent_ += n;
    }
    if (s.body_complete && sent_ == s.body_received) {
      if (chunked_) out_.append("0\r\n\r\n");
      request_done_ = true;
    }
    if (out_.empty()) return;
    writing_ = true;
    asio::async_write(
        conn_->socket, asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
          self->writing_ = false;
          self->out_.clear();
          if (ec) return self->finished_ ? self->drop() : self->broken("write: " + ec.message());
          if (self->finished_) return self->maybe_done();
          if (auto session = self->stream_->session.lock())
            session->request_body_sent(*self->stream_, self->sent_);
          if (!self->request_done_)
            self->pump_request();
          else
            self->maybe_done();
        });
  }

  void start_response() {
    sink_.out = &stream_->res_body;
    sink_.limit = kStreamBuffer;
    sink_.chunked = false;
    parser_.emplace(res_, sink_);
    parser_->header_limit(64 * 1024);
    if (stream_->method == "HEAD") parser_->skip(true);
    conn_->buffer.clear();
    read();
  }

  void read() {
    conn_->socket.async_read_some(
        conn_->buffer.prepare(), [self = shared_from_this()](error_code ec, std::size_t n) {
          if (self->finished_) return;
          if (ec == asio::error::eof && self->got_head_ && self->parser_->need_eof()) {
            error_code e;
            self->parser_->put_eof(e);
            self->keep_alive_ = false;
            if (!e) return self->deliver_body();
          }
          if (ec) return self->broken("read: " + ec.message());
          if (self->got_head_) self->last_data_ = std::chrono::steady_clock::now();
          self->conn_->buffer.commit(n);
          self->parse();
        });
  }

  void parse() {
    auto& buf = conn_->buffer;
    error_code ec;
    if (!got_head_) {
      std::size_t used = parser_->put(asio::buffer(buf.data().data(), buf.size()), ec);
      if (ec == http::error::need_more) {
        if (buf.full()) return fail(Outcome::reset, "read: response header too large");
        return read();
      }
      if (ec) return fail(Outcome::reset, "read: " + ec.message());
      if (res_.status / 100 == 1) {  // interim: the final response follows
        buf.consume(used);
        parser_.emplace(res_, sink_);
        return buf.size() > 0 ? parse() : read();
      }
      on_head(used);
      if (finished_) return;
    }
    while (!parser_->is_done() && buf.size() > 0 && sink_.room() > 0) {
      std::size_t used = parser_->put(asio::buffer(buf.data().data(), buf.size()), ec);
      buf.consume(used);
      if (ec == http::error::need_more && !buf.full()) break;
      if (ec) return broken("read: " + ec.message());
      if (used == 0) break;
    }
    deliver_body();
  }

  void on_head(std::size_t header_bytes) {
    got_head_ = true;
    deadline_.cancel();
    keep_alive_ = parser_->keep_alive();
    Headers headers;
    for (const auto& f : res_.fields) {
      std::string name = core::lower(f.name_string);
      if (name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
          name == "transfer-encoding" || name == "upgrade" || name == "te" || name == "trailer")
        continue;
      headers.push_back({std::move(name), std::string(f.value)});
    }
    conn_->buffer.consume(header_bytes);
    bool end = parser_->is_done();
    auto keep = shared_from_this();
    if (!end) {
      last_data_ = std::chrono::steady_clock::now();
      watch_body();
    }
    if (auto session = stream_->session.lock())
      session->on_response_head(*stream_, res_.status, std::move(headers), end);
    if (end) finish();
  }

  // The response body's idle timeout and a gRPC call's deadline over it
  // (h2_body_timeout.hpp): the connection is dropped, the call a timeout.
  void watch_body() {
    auto limits = body_timeout_for(*stream_);
    deadline_.expires_at(limits.due(last_data_));
    deadline_.async_wait([weak = weak_from_this(), limits](error_code ec) {
      auto c = weak.lock();
      if (ec || !c || c->finished_) return;
      auto why = limits.expired(std::chrono::steady_clock::now(), c->last_data_,
                                c->paused_ || c->stream_->res_pending() > 0);
      if (!why) return c->watch_body();
      c->fail(Outcome::timeout, std::move(*why));
    });
  }

  void deliver_body() {
    if (finished_) return;
    auto keep = shared_from_this();
    auto session = stream_->session.lock();
    if (!session) return cancel();
    if (stream_->res_pending() > 0) session->on_response_data(*stream_);
    if (parser_->is_done()) {
      finish();
      return session->on_response_end(*stream_, {});
    }
    if (sink_.room() == 0) {
      paused_ = true;  // response_consumed() goes on
      return;
    }
    read();
  }

  void finish() {
    finished_ = true;
    deadline_.cancel();
    maybe_done();
  }

  // The exchange is over both ways: the connection goes back to the pool.
  void maybe_done() {
    if (!finished_ || !got_head_ || !parser_->is_done() || !request_done_ || writing_ || !conn_)
      return;
    if (keep_alive_) {
      ++conn_->requests;
      ctx_.pool.put(std::move(conn_), ctx_.clock.now());
    } else {
      drop();
    }
  }

  // A failure on the connection. A pooled connection that breaks before
  // any response byte was closed by the instance while idle: once, the
  // request goes again on a fresh one (as on the HTTP/1.1 path).
  void broken(const std::string& what) {
    if (reused_ && !got_head_ && conn_ && conn_->buffer.size() == 0 && stream_->replayable()) {
      reused_ = false;
      drop();
      return connect();
    }
    fail(Outcome::reset, what);
  }

  void fail(Outcome outcome, std::string what) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    drop();
    auto keep = shared_from_this();
    if (auto session = stream_->session.lock())
      session->on_upstream_failed(*stream_, outcome, std::move(what));
  }

  void drop() {
    deadline_.cancel();
    if (!conn_) return;
    error_code ignored;
    conn_->socket.close(ignored);
    conn_.reset();
  }

  GatewayContext& ctx_;
  std::shared_ptr<Stream> stream_;
  std::string key_, address_, client_ip_;
  std::uint16_t port_ = 0;
  long long timeout_ms_ = 0;
  asio::steady_timer deadline_;  // the response head's, then its body's (watch_body)
  std::chrono::steady_clock::time_point
      last_data_{};  // the body's last bytes (or the client's take)
  std::unique_ptr<UpstreamConnection> conn_;
  std::string out_;
  std::uint64_t sent_ = 0;
  MessageHead res_;
  BodySink sink_;
  std::optional<ResponseParser> parser_;
  bool reused_ = false, chunked_ = false, head_sent_ = false, request_done_ = false,
       writing_ = false, got_head_ = false, paused_ = false, keep_alive_ = true, finished_ = false;
};

}  // namespace

std::shared_ptr<UpstreamCall> start_h1_call(GatewayContext& ctx, std::shared_ptr<Stream> stream,
                                            const balancer::Host& host,
                                            std::chrono::steady_clock::duration timeout,
                                            const std::string& client_ip) {
  auto key = host.address + ':' + std::to_string(host.port);
  auto call = std::make_shared<H1Call>(ctx, std::move(stream), std::move(key));
  call->start(host.address, host.port, timeout, client_ip);
  return call;
}

}  // namespace meshd::gateway::h2
