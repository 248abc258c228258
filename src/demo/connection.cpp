#include "connection.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string_view>

#include "body_reader.hpp"
#include "output.hpp"
#include "response_writer.hpp"
#include "timed_socket.hpp"

namespace meshd::demo {
namespace {

namespace http = boost::beast::http;

// A keep-alive connection idle this long, or a peer stalled mid-request or
// mid-response this long, is closed.
constexpr std::chrono::seconds io_timeout{60};

void log_request(const ServiceState& state, const Request& request, int status,
                 std::chrono::steady_clock::time_point start) {
  if (state.options.quiet) return;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1fms", static_cast<double>(micros) / 1000.0);
  out_line(state.options.name + " " + request.method + " " + request.target + " " +
           std::to_string(status) + " " + elapsed);
}

void count_request(ServiceState& state) {
  const std::uint64_t n = state.requests.fetch_add(1) + 1;
  if (state.options.crash_after_requests != 0 && n == state.options.crash_after_requests) {
    err_line(state.options.name + " crashing after " + std::to_string(n) +
             " requests (--crash-after-requests)");
    exit_process(3);
  }
}

std::string_view unparsed(const boost::beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

// Serves one request; false when the connection is to close after it.
// Throws HttpError or PeerGone.
bool serve_request(TimedSocket& socket, boost::beast::flat_buffer& buffer, ServiceState& state) {
  // Beast parsers are not reusable: one per request. The buffer carries
  // what the client sent beyond this request (pipelining) to the next.
  std::optional<RequestParser> parser;
  boost::beast::error_code ec;
  for (int blank_lines = 0;; ++blank_lines) {
    set_limits(parser.emplace());
    http::read_header(socket, buffer, *parser, ec);
    if (ec == http::error::end_of_stream)
      return false;  // closed between requests: keep-alive's normal end
    // RFC 9112 section 2.2: ignore empty lines before a request line (some
    // clients send one after a POST body); Beast takes them for a method.
    if (ec != http::error::bad_method || blank_lines == 8) break;
    const std::string_view data = unparsed(buffer);
    if (data.starts_with("\r\n")) {
      buffer.consume(2);
    } else if (data.starts_with('\n')) {
      buffer.consume(1);
    } else {
      break;
    }
  }
  if (ec) throw_read_failure(ec, *parser, unparsed(buffer));

  const auto start = std::chrono::steady_clock::now();
  const Request request = make_request(parser->get());
  BodyReader body(socket, buffer, *parser, request.expect_continue);
  const Response response = handle_request(request, body, state);
  // Read what the route left so that the next request starts where it
  // should, and so that closing never resets a client still sending.
  body.drain();
  write_response(socket, request, response, request.keep_alive, state.options.name);
  log_request(state, request, response.status, start);
  count_request(state);
  return request.keep_alive;
}

}  // namespace

void serve_connection(boost::asio::ip::tcp::socket tcp_socket, ServiceState& state) {
  TimedSocket socket(std::move(tcp_socket), io_timeout);
  boost::beast::flat_buffer buffer;
  try {
    while (serve_request(socket, buffer, state)) {
    }
  } catch (const HttpError& error) {
    write_error(socket, error, state.options.name);
    if (!state.options.quiet) {
      out_line(state.options.name + " bad request: " + std::to_string(error.status) + " " +
               error.reason);
    }
  } catch (const PeerGone&) {
  } catch (const std::exception& e) {
    // A bug here must cost one connection, not the process.
    write_error(socket, HttpError{500, std::string("internal error: ") + e.what()},
                state.options.name);
  }
  socket.close();
}

}  // namespace meshd::demo
