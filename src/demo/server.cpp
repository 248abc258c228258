#include "server.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <system_error>
#include <thread>

#include "connection.hpp"
#include "meshd/core/listen.hpp"
#include "response_writer.hpp"
#include "timed_socket.hpp"

namespace meshd::demo {
namespace {

// Enough for any test; past it, answer 503 at once rather than run the
// machine out of threads.
constexpr int max_connections = 2000;

std::atomic<int> open_connections{0};

// Answers 503 on the accepting thread; the short timeout keeps a peer that
// reads nothing from holding up the accept loop.
void refuse(boost::asio::ip::tcp::socket tcp_socket, const std::string& instance) {
  TimedSocket socket(std::move(tcp_socket), std::chrono::seconds(1));
  write_error(socket, HttpError{503, "too many connections"}, instance);
  socket.close();
}

}  // namespace

Server::Server(const std::string& host, int port)
    : port_(core::bind_and_listen(acceptor_, host, static_cast<std::uint16_t>(port), "").port()) {}

void Server::serve_forever(ServiceState& state) {
  for (;;) {
    boost::asio::ip::tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec) {
      if (ec != boost::asio::error::interrupted && ec != boost::asio::error::connection_aborted) {
        // Out of descriptors or memory: back off instead of spinning.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      continue;
    }
    if (open_connections.fetch_add(1) >= max_connections) {
      open_connections.fetch_sub(1);
      refuse(std::move(socket), state.options.name);
      continue;
    }
    try {
      std::thread([socket = std::move(socket), &state]() mutable {
        serve_connection(std::move(socket), state);
        open_connections.fetch_sub(1);
      }).detach();
    } catch (const std::system_error&) {
      open_connections.fetch_sub(1);  // the socket closes with the lambda that could not run
    }
  }
}

}  // namespace meshd::demo
