#include "websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "meshd/api/routes.hpp"
#include "meshd/core/text.hpp"

namespace meshd::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

WebSocketSession::WebSocketSession(tcp::socket socket, std::shared_ptr<StreamHub> hub,
                                   const WebSocketOptions& options, const QueueLimits& limits)
    : StreamClient(limits),
      ws_(std::move(socket)),
      hub_(std::move(hub)),
      options_(options),
      close_timer_(ws_.get_executor()) {
  beast::error_code ec;
  auto ep = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
}

WebSocketSession::~WebSocketSession() {
  hub_->leave(*this);
}

void WebSocketSession::run(const Request& request) {
  // The websocket stream has its own timeouts; the TCP stream's would
  // fight them.
  beast::get_lowest_layer(ws_).expires_never();
  if (options_.send_buffer > 0) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(
        asio::socket_base::send_buffer_size(options_.send_buffer), ignored);
  }
  auto timeout = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeout.idle_timeout = options_.idle_timeout;  // pings at half, closes at whole
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  // No permessage-deflate: compressing for 1,000 clients costs more CPU
  // than it saves.
  websocket::permessage_deflate deflate;
  deflate.server_enable = false;
  deflate.client_enable = false;
  ws_.set_option(deflate);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "meshd"); }));
  // max_message is enforced in on_read, with a clean close handshake:
  // when Beast's own limit trips, it tears the socket down after reading
  // only a little more, and the client gets a reset instead of the 1009.
  ws_.auto_fragment(false);  // one frame per message, written without a copy

  upgrade_request_.method_string(request.method);
  upgrade_request_.target(request.target);
  upgrade_request_.version(11);
  for (const auto& [name, value] : request.headers) upgrade_request_.insert(name, value);
  ws_.async_accept(upgrade_request_,
                   [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

void WebSocketSession::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::debug("websocket {}: handshake failed: {}", remote_, ec.message());
    return finish();
  }
  open_ = true;
  hub_->join(*this);
  spdlog::debug("websocket {}: connected ({} clients)", remote_, hub_->clients());
  read();
}

void WebSocketSession::read() {
  // Never more than max_message + 1 bytes of one message in memory.
  std::size_t limit = options_.max_message + 1 - std::min(buffer_.size(), options_.max_message);
  ws_.async_read_some(
      buffer_, limit,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void WebSocketSession::on_read(beast::error_code ec) {
  if (ec) {
    // closed: the client said goodbye; anything else: the connection is gone.
    if (ec != websocket::error::closed && ec != asio::error::operation_aborted)
      spdlog::debug("websocket {}: {}", remote_, ec.message());
    return finish();
  }
  if (closing_ || finished_) return;
  if (buffer_.size() > options_.max_message) {
    buffer_.clear();
    // The close handshake reads and discards the rest of the message.
    return close_with(websocket::close_code::too_big,
                      "message larger than " + std::to_string(options_.max_message) + " bytes");
  }
  if (!ws_.is_message_done()) return read();
  if (!ws_.got_text()) {
    hub_->send_error(*this, core::make_error(core::ErrorCode::invalid_argument,
                                             "messages must be text frames holding JSON"));
  } else {
    auto data = buffer_.cdata();
    hub_->receive(*this, std::string_view(static_cast<const char*>(data.data()), data.size()));
  }
  buffer_.consume(buffer_.size());
  // After a drop, async_close reads the client's close frame itself.
  if (!closing_ && !finished_) read();
}

void WebSocketSession::wake() {
  if (!open_ || closing_ || finished_) return;
  write_next();
}

void WebSocketSession::write_next() {
  auto text = queue().begin_write();
  if (!text) return;
  ws_.text(true);
  // The handler holds the text: the queue may forget it (a drop) meanwhile.
  ws_.async_write(
      asio::buffer(*text),
      [self = shared_from_this(), text](beast::error_code ec, std::size_t) { self->on_write(ec); });
}

void WebSocketSession::on_write(beast::error_code ec) {
  queue().end_write();
  if (ec) return finish();
  if (closing_ || finished_) return;
  write_next();
}

void WebSocketSession::drop(const std::string& reason) {
  if (closing_ || finished_ || !open_) return;
  spdlog::warn("websocket {}: dropped with 1008: {}", remote_, reason);
  close_with(websocket::close_code::policy_error, reason);
}

void WebSocketSession::close_with(websocket::close_code code, const std::string& reason) {
  closing_ = true;
  // A close frame's reason holds at most 123 bytes.
  websocket::close_reason close(code, reason.substr(0, 120));
  // Beast queues the close behind a write in flight; a client that never
  // reads never lets that write finish, so the socket goes after a while.
  ws_.async_close(close, [self = shared_from_this()](beast::error_code) { self->finish(); });
  close_timer_.expires_after(options_.close_timeout);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
  });
}

void WebSocketSession::finish() {
  if (finished_) return;
  finished_ = true;
  hub_->leave(*this);
  close_timer_.cancel();
  if (open_) spdlog::debug("websocket {}: disconnected", remote_);
}

// --- the upgrade --------------------------------------------------------------

namespace {

// A browser page from another site could open a WebSocket to meshd (the
// same-origin policy does not cover them) and read logs and state. So a
// browser (which always sends Origin) must come from meshd's own address
// or from one of mesh.cors_origins; other clients send no Origin.
std::optional<Response> check_origin(const Request& req, const std::vector<std::string>& allowed) {
  std::string origin = req.header("origin");
  if (origin.empty()) return std::nullopt;
  for (const auto& a : allowed)
    if (a == "*" || core::iequals(a, origin)) return std::nullopt;
  std::string_view authority = origin;
  for (std::string_view scheme : {"http://", "https://"})
    if (core::lower(authority.substr(0, scheme.size())) == scheme)
      authority.remove_prefix(scheme.size());
  if (!authority.empty() && core::iequals(authority, req.header("host"))) return std::nullopt;
  return error_response(core::ErrorCode::forbidden,
                        "WebSocket connections from origin '" + origin +
                            "' are not allowed; add it to mesh.cors_origins");
}

}  // namespace

HttpServer::Upgrade websocket_upgrade(std::shared_ptr<StreamHub> hub, const ApiContext& context,
                                      WebSocketOptions options) {
  // The token rule is the REST one (require_token), applied to a read.
  auto guard = std::make_shared<Router::Handler>(
      require_token(context, false, [](const Request&, const Params&, Respond respond) {
        Response accepted;
        accepted.status = 101;
        respond(std::move(accepted));
      }));
  HttpServer::Upgrade upgrade;
  upgrade.path = "/ws";
  upgrade.check = [guard, &context](const Request& request) -> std::optional<Response> {
    Request req = request;
    // Browsers cannot set headers on a WebSocket: they pass ?token=.
    auto token = req.query.find("token");
    if (req.header("authorization").empty() && token != req.query.end())
      req.headers["authorization"] = "Bearer " + token->second;
    std::optional<Response> result;
    (*guard)(req, {}, [&result](Response r) { result = std::move(r); });
    if (!result) return error_response(core::ErrorCode::internal, "the token check did not answer");
    if (result->status != 101) return result;
    return check_origin(req, context.config->mesh.cors_origins);
  };
  upgrade.accept = [hub, options](tcp::socket socket, const Request& request) {
    auto limits = hub->options().queue;
    std::make_shared<WebSocketSession>(std::move(socket), hub, options, limits)->run(request);
  };
  return upgrade;
}

}  // namespace meshd::api
