#include "meshd/health/notify_socket.hpp"

#include <sstream>

namespace meshd::health {

namespace local = boost::asio::local;

struct NotifySocket::State {
  explicit State(boost::asio::io_context& io) : socket(io) {}
  local::datagram_protocol::socket socket;
  std::array<char, 4096> buffer{};
  OnMessage on_message;
};

namespace {

// The loop holds the state, not the NotifySocket, so it may outlive it
// until the pending receive completes with operation_aborted.
void receive_loop(const std::shared_ptr<NotifySocket::State>& state);

}  // namespace

NotifySocket::NotifySocket(boost::asio::io_context& io, const std::string& name,
                           OnMessage on_message)
    : name_(name), state_(std::make_shared<State>(io)) {
  state_->on_message = std::move(on_message);
  state_->socket.open();
  // A leading NUL selects the abstract namespace.
  state_->socket.bind(local::datagram_protocol::endpoint(std::string(1, '\0') + name_));
  receive();
}

NotifySocket::~NotifySocket() {
  boost::system::error_code ignored;
  state_->on_message = nullptr;
  state_->socket.close(ignored);
}

void NotifySocket::receive() {
  receive_loop(state_);
}

namespace {

void receive_loop(const std::shared_ptr<NotifySocket::State>& state) {
  state->socket.async_receive(boost::asio::buffer(state->buffer),
                              [state](const boost::system::error_code& ec, std::size_t n) {
                                if (ec || !state->on_message) return;
                                std::istringstream lines(std::string(state->buffer.data(), n));
                                std::string line;
                                while (std::getline(lines, line)) {
                                  auto eq = line.find('=');
                                  if (eq == std::string::npos || !state->on_message) continue;
                                  state->on_message(line.substr(0, eq), line.substr(eq + 1));
                                }
                                if (state->on_message) receive_loop(state);
                              });
}

}  // namespace
}  // namespace meshd::health
