// An HTTP/1.1 request served by an h2c instance (see h2_h1_bridge.hpp).
#include "h2_h1_bridge.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>

#include "h2_stream_router.hpp"
#include "h2_upgrade.hpp"
#include "http_head.hpp"
#include "input_buffer.hpp"
#include "meshd/core/text.hpp"
#include "proxy_headers.hpp"

namespace meshd::gateway::h2 {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kChunk = 64 * 1024;

class H1Bridge final : public StreamRouter, public std::enable_shared_from_this<H1Bridge> {
 public:
  H1Bridge(std::shared_ptr<GatewayContext> ctx, Socket socket)
      : StreamRouter(std::move(ctx)), socket_(std::move(socket)), in_(kChunk), deadline_(ctx_->io) {
    ++ctx_->connections;
    error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) client_ip_ = ep.address().to_string();
    sink_.out = &staging_;
    sink_.limit = kChunk;
  }
  ~H1Bridge() override {
    if (stream_) {
      stream_->closed = true;
      if (stream_->call) stream_->call->cancel();
      stream_->call.reset();
      record_result(*stream_, Outcome::cancelled);
      release_host(*stream_);
    }
    --ctx_->connections;
  }

  void start(std::string_view received) {
    auto room = in_.prepare();
    std::memcpy(room.data(), received.data(), received.size());  // at most one read's worth
    in_.commit(received.size());
    parser_.emplace(head_, sink_);
    parser_->header_limit(static_cast<std::uint32_t>(ctx_->options.header_limit));
    error_code ec;
    std::size_t used = parser_->put(asio::buffer(in_.data().data(), in_.size()), ec);
    if (ec) return close();  // the ProxySession parsed this very head: cannot happen
    // Nothing reads from the client while the instance answers: the
    // bridge keeps itself alive until the exchange ends (done, abort).
    self_ = shared_from_this();
    keep_alive_ = parser_->keep_alive();
    version_ = head_.version;
    head_request_ = head_.method == http::verb::head;
    auto s = std::make_shared<Stream>();
    s->id = 1;
    s->session = weak_from_this();
    s->method.assign(head_.method_string);
    s->scheme = "http";
    s->path.assign(head_.target);
    s->authority.assign(head_[http::field::host]);
    auto connection = head_[http::field::connection];
    // A client that takes trailers gets them (in a chunked response), and
    // the instance learns so: HTTP/2 allows `te: trailers` and nothing else.
    accepts_trailers_ = has_token(head_[http::field::te], "trailers");
    if (accepts_trailers_) s->headers.push_back({"te", "trailers"});
    for (const auto& f : head_.fields) {
      std::string name = core::lower(f.name_string);
      if (name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
          name == "te" || name == "trailer" || name == "transfer-encoding" || name == "upgrade" ||
          name == "expect" || name == "host" || name == "http2-settings" ||
          connection.find(f.name_string) != std::string_view::npos)
        continue;
      if (name == "content-type") s->content_type.assign(f.value);
      if (name == "grpc-timeout") s->grpc_timeout.assign(f.value);
      s->headers.push_back({std::move(name), std::string(f.value)});
    }
    bool continue_first = !parser_->is_done() && expects_continue(head_);
    in_.consume(used);  // the head's views end here
    stream_ = s;
    take_body();
    if (continue_first) out_ = "HTTP/1.1 100 Continue\r\n\r\n";
    on_request(*s);
    if (!closed_) {
      write();
      read_body();
    }
  }

  void request_body_sent(Stream& s, std::uint64_t upto) override {
    if (upto > s.consumed) s.consumed = upto;
    s.sent_upto(upto);
    read_body();
  }

 private:
  // ---- the request body -------------------------------------------------------
  // Parses what in_ holds of the body into the stream, as far as its
  // buffer allows.
  void take_body() {
    auto& s = *stream_;
    error_code ec;
    while (!parser_->is_done() && in_.size() > 0 && s.body_received - s.consumed < kStreamBuffer) {
      staging_.clear();
      std::size_t n = parser_->put(asio::buffer(in_.data().data(), in_.size()), ec);
      in_.consume(n);
      if (ec == http::error::need_more) break;
      if (ec) return abort();
      s.body.append(staging_);
      s.body_received += staging_.size();
      if (n == 0) break;
    }
    bool complete = parser_->is_done();
    bool grew = complete != s.body_complete || !staging_.empty();
    s.body_complete = complete;
    staging_.clear();
    if (grew && s.call) s.call->request_body_ready();
  }

  void read_body() {
    auto& s = *stream_;
    if (closed_ || reading_ || parser_->is_done() || s.body_received - s.consumed >= kStreamBuffer)
      return;
    reading_ = true;
    arm(ctx_->options.body_timeout);
    socket_.async_read_some(in_.prepare(),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->reading_ = false;
                              if (self->closed_) return;
                              if (ec) return self->abort();  // the client went away mid-body
                              self->in_.commit(n);
                              self->take_body();
                              self->read_body();
                            });
  }

  // ---- the response ---------------------------------------------------------
  void respond(Stream& s, int status, const Headers& headers, bool with_body) override {
    s.responded = true;
    out_.append(version_ >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
    char digits[8];
    out_.append(digits, std::to_chars(digits, digits + sizeof digits, status).ptr);
    out_.push_back(' ');
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    out_.append(reason.data(), reason.size()).append("\r\n");
    bool sized = false;
    for (const auto& h : headers)
      if (h.name == "content-length") sized = true;
    bool bodyless = head_request_ || status == 204 || status == 304;
    chunked_ = with_body && !sized && !bodyless && version_ >= 11;
    for (const auto& h : headers) {
      if (!h.name.empty() && h.name[0] == ':') continue;
      // `Trailer` announces trailers: only when they will come.
      if (h.name == "trailer" && !(chunked_ && accepts_trailers_)) continue;
      out_.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    if (chunked_) out_.append("transfer-encoding: chunked\r\n");
    if (!with_body && !sized && !bodyless) out_.append("content-length: 0\r\n");
    if (with_body && !sized && !chunked_ && !bodyless) keep_alive_ = false;  // ends with the close
    if (!keep_alive_ || !parser_->is_done()) {
      if (version_ >= 11) out_.append("connection: close\r\n");
      keep_alive_ = false;
    } else if (version_ < 11) {
      out_.append("connection: keep-alive\r\n");
    }
    out_.append("\r\n");
    with_body_ = with_body && !bodyless;
    if (!with_body) s.res_end = true;
    write();
  }

  void body_ready(Stream&) override { write(); }

  void reset(Stream&) override { abort(); }

  std::shared_ptr<Stream> shared(const Stream& s) const override {
    return stream_ && stream_.get() == &s && !s.closed ? stream_ : nullptr;
  }
  std::shared_ptr<StreamRouter> keep() override {
    if (closed_) return nullptr;
    return shared_from_this();
  }

  // Writes the head and what body there is; ends the exchange once the
  // whole response is out.
  void write() {
    if (closed_ || writing_) return;
    auto& s = *stream_;
    std::size_t taken = 0;
    if (s.responded && with_body_ && s.res_pending() > 0 && out_.size() < kChunk) {
      taken = std::min(s.res_pending(), kChunk);
      if (chunked_) {
        char hex[20];
        out_.append(hex, std::to_chars(hex, hex + sizeof hex, taken, 16).ptr).append("\r\n");
      }
      out_.append(s.res_body, s.res_off, taken);
      s.bytes_out += taken;
      if (chunked_) out_.append("\r\n");
      s.res_off += taken;
      if (s.res_off == s.res_body.size()) {
        s.res_body.clear();
        s.res_off = 0;
      }
    }
    bool last = s.responded && s.res_end && s.res_pending() == 0 && !finished_;
    if (last) {
      finished_ = true;
      if (chunked_) end_chunked(s);
    }
    // A body without chunks (HTTP/1.0, or ended by the close) whose end
    // came after its last bytes were written has nothing left to write.
    if (last && out_.empty()) return done();
    if (out_.empty()) return;
    writing_ = true;
    arm(ctx_->options.body_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), taken, last](error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        if (self->closed_) return;
                        if (ec) return self->abort();
                        auto& st = *self->stream_;
                        if (taken > 0 && st.call) st.call->response_consumed(taken);
                        if (last) return self->done();
                        self->write();
                      });
  }

  // The last chunk, with the instance's trailers as trailer fields (RFC
  // 9112 7.1.2) when the client said it takes them (`TE: trailers`).
  void end_chunked(const Stream& s) {
    out_.append("0\r\n");
    if (accepts_trailers_) {
      for (const auto& h : s.trailers) {
        // Framing, routing and the like may not be trailers (RFC 9110 6.5.1).
        if (h.name.empty() || h.name[0] == ':' || h.name == "content-length" ||
            h.name == "transfer-encoding" || h.name == "host" || h.name == "connection" ||
            h.name == "trailer" || h.name == "te" || h.name == "content-type" ||
            h.name == "content-encoding")
          continue;
        out_.append(h.name).append(": ").append(h.value).append("\r\n");
      }
    }
    out_.append("\r\n");
  }

  // The response is out: the next request goes to an ordinary
  // ProxySession, unless the connection ends here.
  void done() {
    closed_ = true;
    deadline_.cancel();
    auto keep_until_return = std::move(self_);
    if (stream_) log_stream(*stream_, version_ >= 11 ? "HTTP/1.1" : "HTTP/1.0");
    bool reusable = keep_alive_ && parser_->is_done() && !ctx_->stopped;
    if (reusable) return continue_proxy_session(ctx_, std::move(socket_), in_.data());
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void abort() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    auto keep_until_return = std::move(self_);
    error_code ignored;
    socket_.close(ignored);
    if (stream_) {
      stream_->closed = true;
      if (stream_->call) stream_->call->cancel();
      stream_->call.reset();
      record_result(*stream_, Outcome::cancelled);
      release_host(*stream_);
      log_stream(*stream_, version_ >= 11 ? "HTTP/1.1" : "HTTP/1.0");
    }
  }

  void close() { abort(); }

  // One deadline for the client side, moved on by every read and write.
  void arm(core::Duration d) {
    deadline_.expires_after(d);
    deadline_.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      self->abort();
    });
  }

  Socket socket_;
  InputBuffer in_;
  asio::steady_timer deadline_;
  MessageHead head_;
  BodySink sink_;
  std::string staging_, out_;
  std::optional<RequestParser> parser_;
  std::shared_ptr<Stream> stream_;
  std::shared_ptr<H1Bridge> self_;  // set while the exchange runs
  unsigned version_ = 11;
  bool accepts_trailers_ = false;  // the client sent `TE: trailers`
  bool keep_alive_ = true, head_request_ = false, chunked_ = false, with_body_ = false,
       reading_ = false, writing_ = false, finished_ = false, closed_ = false;
};

}  // namespace

void bridge_h1_request(std::shared_ptr<GatewayContext> ctx, Socket socket,
                       std::string_view received) {
  std::make_shared<H1Bridge>(std::move(ctx), std::move(socket))->start(received);
}

}  // namespace meshd::gateway::h2
