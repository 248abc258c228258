#include "http_session.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cerrno>
#include <utility>

#include "meshd/core/text.hpp"
#include "response_batch.hpp"
#include "response_head.hpp"

namespace meshd::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using core::ErrorCode;

Request to_request(http::request<http::string_body>& req, const std::string& remote,
                   bool& bad_path) {
  Request out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto q = out.target.find('?');
  std::string raw_path = out.target.substr(0, q);
  bad_path = !percent_decode(raw_path, out.path, false);
  if (q != std::string::npos && !parse_query(out.target.substr(q + 1), out.query)) bad_path = true;
  for (const auto& field : req)
    out.headers[core::lower(field.name_string())] = std::string(field.value());
  out.body = std::move(req.body());
  out.remote_address = remote;
  return out;
}

}  // namespace

HttpSession::HttpSession(tcp::socket socket, const Router& router, const HttpServerOptions& options,
                         std::shared_ptr<const HttpServer::Upgrade> upgrade)
    : stream_(std::move(socket)), router_(router), options_(options), upgrade_(std::move(upgrade)) {
  boost::system::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string();
  // Answers are sent straight on the non-blocking socket (send_now()),
  // with the descriptor kept here, next to the rest of what answering
  // touches; the mode is an ioctl, so it is set here once, not per answer.
  stream_.socket().non_blocking(true, ec);
  fd_ = stream_.socket().native_handle();
}

void HttpSession::read() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
  parser_->body_limit(options_.body_limit);
  stream_.expires_after(options_.idle_timeout);
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void HttpSession::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return close();
  if (ec == http::error::header_limit)
    return reply_and_close({ErrorCode::header_fields_too_large, "request headers are too large"});
  if (ec == http::error::body_limit)
    return reply_and_close(
        {ErrorCode::payload_too_large,
         "request body is larger than " + std::to_string(options_.body_limit) + " bytes"});
  if (ec)
    return reply_and_close(
        {ErrorCode::invalid_argument, "malformed HTTP request: " + ec.message()});

  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  bool is_upgrade = beast::websocket::is_upgrade(req);
  bool bad_path = false;
  Request request = to_request(req, remote_, bad_path);
  if (bad_path)
    return reply_and_close({ErrorCode::invalid_argument, "malformed percent-encoding in the URL"});
  head_ = request.method == "HEAD";
  if (upgrade_ && request.path == upgrade_->path) return on_upgrade(std::move(request), is_upgrade);
  cors_origin_.clear();
  if (auto origin = request.header("origin"); !origin.empty() && cors_allowed(origin)) {
    cors_origin_ = origin;
    // A preflight: answer it here, for every route.
    if (request.method == "OPTIONS" && !request.header("access-control-request-method").empty()) {
      Response r;
      r.status = 204;
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return write(std::move(r));
    }
  }
  stream_.expires_never();  // a blocking query may take its time
  // The responder keeps the session alive until the handler answers,
  // which for a blocking query is up to its wait time later.
  awaiting_ = true;
  hangup_ = std::make_shared<Hangup>();
  request.hangup = hangup_;
  router_.dispatch(request, [self = shared_from_this()](Response response) {
    self->respond(std::move(response));
  });
  // Not answered yet: a parked blocking query. Watch the socket meanwhile,
  // so that a client that hangs up is let go now rather than when its
  // wait ends (Go's net/http does the same with a background read).
  if (awaiting_) watch_peer();
}

void HttpSession::respond(Response response) {
  if (!awaiting_) return;  // the client is gone (or a handler answered twice)
  awaiting_ = false;       // from now on a hang-up is not reported; hangup_ goes in after_send()
  write(std::move(response));
}

void HttpSession::watch_peer() {
  watching_ = true;
  stream_.socket().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](beast::error_code ec) { self->on_peer_ready(ec); });
}

// The socket became readable while a request is parked, or the wait was
// cancelled because the answer is being written.
void HttpSession::on_peer_ready(beast::error_code ec) {
  watching_ = false;
  if (next_after_watch_) {  // the answer went out meanwhile: carry on
    next_after_watch_ = false;
    return next();
  }
  if (!awaiting_ || ec == asio::error::operation_aborted) return;
  if (!ec) {
    char byte = 0;
    stream_.socket().receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return watch_peer();
    if (!ec) return;  // the next request, pipelined: it waits its turn in the kernel
  }
  // End of stream or an error: nobody is left to answer.
  awaiting_ = false;
  if (auto hangup = std::move(hangup_)) hangup->fire();
  close();
}

// GET /ws: the WebSocket session takes the socket; this session ends.
void HttpSession::on_upgrade(Request request, bool is_upgrade) {
  if (request.method != "GET") {
    auto r = error_response(ErrorCode::method_not_allowed,
                            request.method + " is not allowed on " + request.path);
    r.headers.emplace_back("Allow", "GET");
    return write(std::move(r));
  }
  if (!is_upgrade) {
    auto r =
        error_response(ErrorCode::upgrade_required,
                       request.path + " is a WebSocket endpoint: it needs 'Upgrade: websocket'");
    r.headers.emplace_back("Upgrade", "websocket");
    return write(std::move(r));
  }
  if (auto refused = upgrade_->check(request)) {
    keep_alive_ = false;  // a refused handshake ends the connection, as browsers expect
    return write(std::move(*refused));
  }
  stream_.expires_never();
  upgrade_->accept(stream_.release_socket(), request);
}

bool HttpSession::cors_allowed(const std::string& origin) const {
  for (const auto& o : options_.cors_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

// One gathered write of the head and the body; a shared body (a cached
// discover answer) is written from the cache without a copy, and a
// prepared answer, where this connection can take it as it is, in one
// contiguous send.
void HttpSession::write(Response response) {
  // Asked here, where every answer passes, so that no route can forget it.
  stale_ = options_.stale && options_.stale();
  if (auto prepared = std::move(response.prepared)) {
    if (version_ == 11 && keep_alive_ && cors_origin_.empty() && !head_ && !stale_) {
      out_buffers_ = {asio::buffer(prepared->wire), asio::const_buffer()};
      out_keep_ = {std::move(prepared), nullptr};
    } else {  // its own head, the body from the prepared bytes
      set_answer(prepared->response, prepared->body(), prepared);
    }
    return send();
  }
  std::shared_ptr<const std::string> body = std::move(response.shared_body);
  if (!body) body = std::make_shared<const std::string>(std::move(response.body));
  set_answer(response, *body, body);
  send();
}

// out_buffers_: this connection's head for `fields`, then `body` (none
// for HEAD and for statuses without one); `holder` keeps the body alive.
void HttpSession::set_answer(const Response& fields, std::string_view body,
                             std::shared_ptr<const void> holder) {
  auto head = std::make_shared<const std::string>(
      response_head(fields, body.size(), HeadOptions{version_, keep_alive_, cors_origin_, stale_}));
  out_buffers_ = {asio::buffer(*head), asio::buffer(body.data(), body.size())};
  if (head_ || status_has_no_body(fields.status)) out_buffers_[1] = asio::const_buffer();
  out_keep_ = {std::move(head), std::move(holder)};
}

// Sends out_buffers_ now or, while a ResponseBatch is open, with the
// batch when it closes.
void HttpSession::send() {
  if (hold_in_batch(shared_from_this())) return;
  beast::error_code ec;
  std::size_t sent = send_now(ec);
  after_send(sent, ec);
}

// Most answers fit in the socket's send buffer: they go out now, without
// an async operation and the stream's timeout timer (a timer-queue insert
// and removal each, a thousand when a blocking query wakes). One buffer
// goes with send(), two with sendmsg().
std::size_t HttpSession::send_now(beast::error_code& ec) {
  ssize_t sent = 0;
  do {
    if (out_buffers_[1].size() == 0) {
      sent =
          ::send(fd_, out_buffers_[0].data(), out_buffers_[0].size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
      std::array<iovec, 2> iov{
          iovec{const_cast<void*>(out_buffers_[0].data()), out_buffers_[0].size()},
          iovec{const_cast<void*>(out_buffers_[1].data()), out_buffers_[1].size()}};
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = iov.size();
      sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0) return static_cast<std::size_t>(sent);
  if (errno != EAGAIN && errno != EWOULDBLOCK)
    ec = beast::error_code(errno, beast::system_category());
  return 0;
}

// What did not fit goes out asynchronously, under the timeout.
void HttpSession::after_send(std::size_t sent, beast::error_code ec) {
  // The handler's hang-up callback may hold what the request needed.
  if (auto hangup = std::move(hangup_)) hangup->forget();
  // The watch for a hang-up ends (on_write waits for it); after the send,
  // so that a wake-up's answers go out before any of this bookkeeping.
  if (watching_) {
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
  }
  if (ec || sent == asio::buffer_size(out_buffers_)) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), ec] { self->on_write(ec); });
    return;
  }
  beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(out_buffers_);
  rest.consume(sent);
  stream_.expires_after(options_.idle_timeout);
  asio::async_write(stream_, rest, [self = shared_from_this()](beast::error_code e, std::size_t) {
    self->on_write(e);
  });
}

void HttpSession::on_write(beast::error_code ec) {
  out_keep_ = {};
  if (ec) return close();
  if (watching_) {  // the cancelled watch has not completed yet
    next_after_watch_ = true;
    return;
  }
  next();
}

void HttpSession::next() {
  if (!keep_alive_) return linger();
  read();
}

// A request that cannot be read to its end: answered in HTTP/1.1, then
// the connection goes (what follows in it cannot be parsed).
void HttpSession::reply_and_close(const core::Error& error) {
  keep_alive_ = false;
  version_ = 11;
  write(error_response(error));
}

void HttpSession::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

// Closing a socket with unread input makes the kernel send RST, which can
// destroy the response (a 413, say) before the client reads it. So, like
// nginx's lingering close, half-close and discard what the client still
// sends: bounded by time, not bytes (a client that writes its whole 20 MB
// body before reading still gets its answer): core/lingering.hpp.
void HttpSession::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  linger_until_ = std::chrono::steady_clock::now() + core::kLingerTime;
  drain();
}

void HttpSession::drain() {
  auto left = linger_until_ - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return close();
  stream_.expires_after(std::min<std::chrono::steady_clock::duration>(left, core::kLingerPause));
  if (!discard_) discard_ = std::make_unique<std::array<char, 16 * 1024>>();
  stream_.async_read_some(asio::buffer(*discard_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->drain();
                          });
}

}  // namespace meshd::api
