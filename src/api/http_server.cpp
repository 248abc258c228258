#include "meshd/api/http_server.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "response_head.hpp"

namespace meshd::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Upgrade = HttpServer::Upgrade;

Request to_request(http::request<http::string_body>& req, const std::string& remote, bool& bad_path) {
  Request out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto q = out.target.find('?');
  std::string raw_path = out.target.substr(0, q);
  bad_path = !percent_decode(raw_path, out.path, false);
  if (q != std::string::npos && !parse_query(out.target.substr(q + 1), out.query)) bad_path = true;
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(req.body());
  out.remote_address = remote;
  return out;
}

class Session;
bool queue_in_batch(std::shared_ptr<Session> session);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Router& router, const HttpServerOptions& options,
          std::shared_ptr<const Upgrade> upgrade)
      : stream_(std::move(socket)),
        router_(router),
        options_(options),
        upgrade_(std::move(upgrade)) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    // Answers are sent straight on the non-blocking socket (send_now()),
    // with the descriptor kept here, next to the rest of what answering
    // touches; the mode is an ioctl, so it is set here once, not per answer.
    stream_.socket().non_blocking(true, ec);
    fd_ = stream_.socket().native_handle();
  }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    stream_.expires_after(options_.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec == http::error::header_limit)
      return reply_and_close(431, "request_header_fields_too_large", "request headers are too large");
    if (ec == http::error::body_limit)
      return reply_and_close(413, "payload_too_large",
                             "request body is larger than " + std::to_string(options_.body_limit) + " bytes");
    if (ec) return reply_and_close(400, "invalid_argument", "malformed HTTP request: " + ec.message());

    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    bool is_upgrade = beast::websocket::is_upgrade(req);
    bool bad_path = false;
    Request request = to_request(req, remote_, bad_path);
    if (bad_path) return reply_and_close(400, "invalid_argument", "malformed percent-encoding in the URL");
    head_ = request.method == "HEAD";
    if (upgrade_ && request.path == upgrade_->path)
      return on_upgrade(std::move(request), is_upgrade);
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
    router_.dispatch(request, [self = shared_from_this()](Response response) { self->respond(std::move(response)); });
    // Not answered yet: a parked blocking query. Watch the socket meanwhile,
    // so that a client that hangs up is let go now rather than when its
    // wait ends (Go's net/http does the same with a background read).
    if (awaiting_) watch_peer();
  }

  void respond(Response response) {
    if (!awaiting_) return;  // the client is gone (or a handler answered twice)
    awaiting_ = false;  // from now on a hang-up is not reported; hangup_ goes in after_send()
    write(std::move(response));
  }

  void watch_peer() {
    watching_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) { self->on_peer_ready(ec); });
  }

  // The socket became readable while a request is parked, or the wait was
  // cancelled because the answer is being written.
  void on_peer_ready(beast::error_code ec) {
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
  void on_upgrade(Request request, bool is_upgrade) {
    if (request.method != "GET") {
      auto r = error_response(core::ErrorCode::method_not_allowed,
                              request.method + " is not allowed on " + request.path);
      r.headers.emplace_back("Allow", "GET");
      return write(std::move(r));
    }
    if (!is_upgrade) {
      auto r = json_response(
          426, {{"error",
                 {{"code", "upgrade_required"},
                  {"message",
                   request.path + " is a WebSocket endpoint: it needs 'Upgrade: websocket'"}}}});
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

  bool cors_allowed(const std::string& origin) const {
    for (const auto& o : options_.cors_origins)
      if (o == "*" || o == origin) return true;
    return false;
  }

  // One gathered write of the head and the body; a shared body (a cached
  // discover answer) is written from the cache without a copy, and a
  // prepared answer, where this connection can take it as it is, in one
  // contiguous send.
  void write(Response response) {
    if (auto prepared = std::move(response.prepared)) {
      if (version_ == 11 && keep_alive_ && cors_origin_.empty() && !head_) {
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
  void set_answer(const Response& fields, std::string_view body, std::shared_ptr<const void> holder) {
    auto head = std::make_shared<const std::string>(
        response_head(fields, body.size(), HeadOptions{version_, keep_alive_, cors_origin_}));
    out_buffers_ = {asio::buffer(*head), asio::buffer(body.data(), body.size())};
    if (head_ || status_has_no_body(fields.status)) out_buffers_[1] = asio::const_buffer();
    out_keep_ = {std::move(head), std::move(holder)};
  }

  // Sends out_buffers_ now or, while a ResponseBatch is open, with the
  // batch when it closes.
  void send() {
    if (queue_in_batch(shared_from_this())) return;
    beast::error_code ec;
    std::size_t sent = send_now(ec);
    after_send(sent, ec);
  }

 public:
  // Most answers fit in the socket's send buffer: they go out now, without
  // an async operation and the stream's timeout timer (a timer-queue insert
  // and removal each, a thousand when a blocking query wakes). One buffer
  // goes with send(), two with sendmsg().
  std::size_t send_now(beast::error_code& ec) {
    ssize_t sent = 0;
    do {
      if (out_buffers_[1].size() == 0) {
        sent = ::send(fd_, out_buffers_[0].data(), out_buffers_[0].size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      } else {
        std::array<iovec, 2> iov{iovec{const_cast<void*>(out_buffers_[0].data()), out_buffers_[0].size()},
                                 iovec{const_cast<void*>(out_buffers_[1].data()), out_buffers_[1].size()}};
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = iov.size();
        sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    } while (sent < 0 && errno == EINTR);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec = beast::error_code(errno, beast::system_category());
    return 0;
  }

  // What did not fit goes out asynchronously, under the timeout.
  void after_send(std::size_t sent, beast::error_code ec) {
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
    asio::async_write(stream_, rest, [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

 private:
  void on_write(beast::error_code ec) {
    out_keep_ = {};
    if (ec) return close();
    if (watching_) {  // the cancelled watch has not completed yet
      next_after_watch_ = true;
      return;
    }
    next();
  }

  void next() {
    if (!keep_alive_) return linger();
    read();
  }

  void reply_and_close(int status, const std::string& code, const std::string& message) {
    keep_alive_ = false;
    version_ = 11;
    Response r = json_response(status, {{"error", {{"code", code}, {"message", message}}}});
    write(std::move(r));
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  // Closing a socket with unread input makes the kernel send RST, which can
  // destroy the response (a 413, say) before the client reads it. So, like
  // nginx's lingering close, half-close and discard what the client still
  // sends, for a bounded time and amount.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    if (drained_ > 8 * 1024 * 1024) return close();
    if (!discard_) discard_ = std::make_unique<std::array<char, 16 * 1024>>();
    stream_.async_read_some(asio::buffer(*discard_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->close();
      self->drained_ += n;
      self->drain();
    });
  }

  // What answering a request touches comes first: a wake-up answers a
  // thousand sessions in a row, and each one's cache misses add up.
  int fd_ = -1;                    // the socket, for send_now()
  bool awaiting_ = false;          // a request was dispatched and is not answered yet
  bool watching_ = false;          // an async_wait for a hang-up is outstanding
  bool next_after_watch_ = false;  // the answer is written; go on once the wait completes
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
  std::shared_ptr<Hangup> hangup_;
  std::array<asio::const_buffer, 2> out_buffers_;        // the answer being sent
  std::array<std::shared_ptr<const void>, 2> out_keep_;  // what holds their bytes
  std::string cors_origin_;  // echoed in Access-Control-Allow-Origin when allowed
  beast::tcp_stream stream_;
  const Router& router_;
  HttpServerOptions options_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering
  std::size_t drained_ = 0;
  std::shared_ptr<const Upgrade> upgrade_;
};

// The answers queued while a ResponseBatch is open (one control loop: no locks).
struct Batch {
  int depth = 0;
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::pair<std::size_t, beast::error_code>> results;
};
thread_local Batch t_batch;

bool queue_in_batch(std::shared_ptr<Session> session) {
  if (t_batch.depth == 0) return false;
  t_batch.sessions.push_back(std::move(session));
  return true;
}

}  // namespace

ResponseBatch::ResponseBatch() { ++t_batch.depth; }

// The sends first, in one tight loop that keeps the kernel's send path
// warm in the cache; the bookkeeping of each connection after all of them.
ResponseBatch::~ResponseBatch() {
  if (--t_batch.depth > 0) return;
  auto sessions = std::move(t_batch.sessions);
  t_batch.sessions.clear();
  auto& results = t_batch.results;
  results.resize(sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    results[i].second = {};
    results[i].first = sessions[i]->send_now(results[i].second);
  }
  for (std::size_t i = 0; i < sessions.size(); ++i) sessions[i]->after_send(results[i].first, results[i].second);
}

struct HttpServer::Listener : std::enable_shared_from_this<HttpServer::Listener> {
  Listener(asio::io_context& io, const Router& r, const HttpServerOptions& o,
           std::shared_ptr<const Upgrade> u)
      : acceptor(io), router(r), options(o), upgrade(std::move(u)) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), self->router, self->options, self->upgrade)->start();
      }
      self->accept();
    });
  }

  tcp::acceptor acceptor;
  const Router& router;
  HttpServerOptions options;
  std::shared_ptr<const Upgrade> upgrade;
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options)
    : io_(io), router_(router), options_(options) {}

HttpServer::~HttpServer() { stop(); }

config::Endpoint HttpServer::listen(const config::Endpoint& endpoint) {
  listener_ = std::make_shared<Listener>(io_, router_, options_, upgrade_);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + endpoint.to_string() + ": not an IP address");
  tcp::endpoint ep(address, endpoint.port);
  auto& acc = listener_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + endpoint.to_string() + ": " + ec.message());
  listener_->accept();
  auto bound = acc.local_endpoint();
  return config::Endpoint{bound.address().to_string(), bound.port()};
}

void HttpServer::set_upgrade(Upgrade upgrade) {
  upgrade_ = std::make_shared<const Upgrade>(std::move(upgrade));
}

void HttpServer::stop() {
  if (!listener_) return;
  boost::system::error_code ignored;
  listener_->acceptor.close(ignored);
  listener_.reset();
}

}  // namespace meshd::api
