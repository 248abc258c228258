#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace meshd::core {

/// The address of a host as the config writes it: an IP literal, or
/// "localhost", which means 127.0.0.1 (meshd resolves no other names: a
/// DNS lookup would block the loop). Sets `ec` for anything else.
boost::asio::ip::address host_address(std::string_view host, boost::system::error_code& ec);

/// Whether `host` (as the config writes it) is reachable only from this
/// machine: 127.x, ::1 or localhost.
bool is_loopback_host(std::string_view host);

/// Opens, binds (SO_REUSEADDR) and listens `acceptor` on host:port (port 0
/// picks a free one) and returns the bound endpoint. Throws
/// std::runtime_error "cannot listen on <what> host:port: reason".
boost::asio::ip::tcp::endpoint bind_and_listen(boost::asio::ip::tcp::acceptor& acceptor,
                                               std::string_view host, std::uint16_t port,
                                               std::string_view what);

}  // namespace meshd::core
