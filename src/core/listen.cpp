#include "meshd/core/listen.hpp"

#include <stdexcept>

namespace meshd::core {

namespace asio = boost::asio;

asio::ip::address host_address(std::string_view host, boost::system::error_code& ec) {
  if (host == "localhost") return asio::ip::address_v4::loopback();
  return asio::ip::make_address(std::string(host), ec);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

asio::ip::tcp::endpoint bind_and_listen(asio::ip::tcp::acceptor& acceptor, std::string_view host,
                                        std::uint16_t port, std::string_view what) {
  auto where = [&] {
    return std::string(what) + (what.empty() ? "" : " ") + std::string(host) + ":" +
           std::to_string(port);
  };
  boost::system::error_code ec;
  auto address = host_address(host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": not an IP address");
  asio::ip::tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": " + ec.message());
  return acceptor.local_endpoint();
}

}  // namespace meshd::core
