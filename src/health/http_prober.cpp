#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "meshd/health/prober.hpp"

namespace meshd::health {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Bodies are read only when the check matches on them, and never past this:
// a health endpoint that streams megabytes must not cost meshd memory.
constexpr std::size_t kBodyLimit = 64 * 1024;

// One GET with a deadline that covers connect, write and read.
class HttpProbe : public std::enable_shared_from_this<HttpProbe> {
 public:
  HttpProbe(asio::io_context& io, const ProbeTarget& target, Prober::Done done)
      : stream_(io), target_(target), done_(std::move(done)), started_(std::chrono::steady_clock::now()) {}

  void start() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(target_.host == "localhost" ? "127.0.0.1" : target_.host, ec);
    if (ec) return finish(HealthStatus::critical, "bad address '" + target_.host + "'");
    request_.method(http::verb::get);
    request_.target(target_.spec.path.empty() ? "/" : target_.spec.path);
    request_.version(11);
    request_.set(http::field::host, target_.host + ":" + std::to_string(target_.port));
    request_.set(http::field::user_agent, "meshd-health-check");
    request_.set(http::field::connection, "close");
    parser_.header_limit(16 * 1024);
    parser_.body_limit(kBodyLimit);
    stream_.expires_after(target_.spec.timeout);
    stream_.async_connect(tcp::endpoint(address, target_.port),
                          [self = shared_from_this()](beast::error_code e) { self->on_connect(e); });
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return fail("connect", ec);
    http::async_write(stream_, request_,
                      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(beast::error_code ec) {
    if (ec) return fail("write", ec);
    if (target_.spec.body_contains.empty()) {
      http::async_read_header(stream_, buffer_, parser_,
                              [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
    } else {
      http::async_read(stream_, buffer_, parser_,
                       [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
    }
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return finish(HealthStatus::critical, "HTTP GET " + target_.spec.path + ": body larger than 64 KiB");
    if (ec) return fail("read", ec);
    const auto& res = parser_.get();
    int status = res.result_int();
    std::string body = res.body().substr(0, 512);
    std::string summary = "HTTP GET " + target_.spec.path + ": " + std::to_string(status) + " " +
                          std::string(res.reason()) + (body.empty() ? "" : " Output: " + body);
    if (status < target_.spec.expect_status.low || status > target_.spec.expect_status.high)
      return finish(HealthStatus::critical, summary);
    if (!target_.spec.body_contains.empty() && res.body().find(target_.spec.body_contains) == std::string::npos)
      return finish(HealthStatus::critical, summary + " (body does not contain '" + target_.spec.body_contains + "')");
    finish(HealthStatus::passing, summary);
  }

  void fail(const char* what, beast::error_code ec) {
    if (ec == beast::error::timeout)
      return finish(HealthStatus::critical, "HTTP GET " + target_.spec.path + ": timed out after " +
                                                std::to_string(target_.spec.timeout.count()) + "ms");
    finish(HealthStatus::critical,
           std::string("HTTP GET ") + target_.spec.path + ": " + what + ": " + ec.message());
  }

  void finish(HealthStatus status, std::string output) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    done(CheckResult{status, std::move(output),
                     std::chrono::duration_cast<core::Duration>(std::chrono::steady_clock::now() - started_)});
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> parser_;
  ProbeTarget target_;
  Prober::Done done_;
  std::chrono::steady_clock::time_point started_;
};

class HttpProber final : public Prober {
 public:
  HttpProber(asio::io_context& io, ProbeTarget target) : io_(io), target_(std::move(target)) {}
  void run(Done done) override { std::make_shared<HttpProbe>(io_, target_, std::move(done))->start(); }

 private:
  asio::io_context& io_;
  ProbeTarget target_;
};

}  // namespace

std::unique_ptr<Prober> make_http_prober(asio::io_context& io, ProbeTarget target) {
  return std::make_unique<HttpProber>(io, std::move(target));
}

}  // namespace meshd::health
