#include "server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "output.hpp"

namespace meshd::demo {
namespace {

// Enough for any test; past it, answer 503 at once rather than run the
// machine out of threads.
constexpr int max_connections = 2000;
// A keep-alive connection idle this long, or a peer stalled mid-request or
// mid-response this long, is closed.
constexpr int io_timeout_seconds = 60;

std::atomic<int> open_connections{0};

void set_timeouts(int fd) {
  timeval timeout{io_timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string head(const Response& r, std::uint64_t length, bool keep_alive, int minor_version,
                 const std::string& name) {
  std::string h = "HTTP/1.1 " + std::to_string(r.status) + " ";
  h += reason_phrase(r.status);
  h += "\r\nX-Demo-Instance: " + name + "\r\nContent-Type: " + r.content_type + "\r\n";
  // 204 and 304 never have a body, and 204 must not even announce one.
  if (r.status != 204 && r.status != 304) h += "Content-Length: " + std::to_string(length) + "\r\n";
  if (!keep_alive) {
    h += "Connection: close\r\n";
  } else if (minor_version == 0) {
    h += "Connection: keep-alive\r\n";
  }
  h += "\r\n";
  return h;
}

void send_response(int fd, const Request& request, const Response& r, bool keep_alive,
                   const std::string& name) {
  const bool streamed = r.stream_bytes > 0;
  const std::uint64_t length = streamed ? r.stream_bytes : r.body.size();
  std::string out = head(r, length, keep_alive, request.minor_version, name);
  const bool has_body = request.method != "HEAD" && r.status != 204 && r.status != 304;
  if (has_body && !streamed) out += r.body;
  send_all(fd, out);
  if (!has_body || !streamed) return;
  static const std::string filler(64 * 1024, 'x');
  for (std::uint64_t left = length; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, filler.size()));
    send_all(fd, std::string_view(filler).substr(0, n));
    left -= n;
  }
}

void send_error(int fd, const HttpError& error, const std::string& name) {
  Request request;
  request.minor_version = 1;
  Response r{error.status, "text/plain; charset=utf-8", error.reason + "\n", 0};
  try {
    send_response(fd, request, r, false, name);
  } catch (const PeerGone&) {
  }
}

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

void serve_connection(int fd, ServiceState& state) {
  set_timeouts(fd);
  SocketReader reader(fd);
  Request request;
  try {
    while (read_request(reader, request)) {
      const auto start = std::chrono::steady_clock::now();
      BodyReader body(reader, request, fd);
      const Response response = handle_request(request, body, state);
      // Read what the route left so that the next request starts where it
      // should, and so that closing never resets a client still sending.
      body.drain();
      send_response(fd, request, response, request.keep_alive, state.options.name);
      log_request(state, request, response.status, start);
      count_request(state);
      if (!request.keep_alive) break;
    }
  } catch (const HttpError& error) {
    send_error(fd, error, state.options.name);
    if (!state.options.quiet) {
      out_line(state.options.name + " bad request: " + std::to_string(error.status) + " " +
               error.reason);
    }
  } catch (const PeerGone&) {
  } catch (const std::exception& e) {
    // A bug here must cost one connection, not the process.
    send_error(fd, HttpError{500, std::string("internal error: ") + e.what()}, state.options.name);
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace

Listener listen_on(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 512) == 0) {
      sockaddr_storage bound{};
      socklen_t length = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
      const int bound_port = bound.ss_family == AF_INET6
                                 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                 : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      ::freeaddrinfo(found);
      return Listener{fd, bound_port};
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  throw std::runtime_error("cannot listen on " + host + ":" + service + ": " + error);
}

void serve_forever(const Listener& listener, ServiceState& state) {
  for (;;) {
    const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        // Out of descriptors or memory: back off instead of spinning.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    if (open_connections.fetch_add(1) >= max_connections) {
      open_connections.fetch_sub(1);
      send_error(fd, HttpError{503, "too many connections"}, state.options.name);
      ::close(fd);
      continue;
    }
    try {
      std::thread([fd, &state] {
        serve_connection(fd, state);
        open_connections.fetch_sub(1);
      }).detach();
    } catch (const std::system_error&) {
      open_connections.fetch_sub(1);
      ::close(fd);
    }
  }
}

}  // namespace meshd::demo
