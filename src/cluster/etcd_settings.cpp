#include "etcd_settings.hpp"

#include <boost/system/error_code.hpp>
#include <fstream>

namespace meshd::cluster {
namespace {

namespace ssl = boost::asio::ssl;

core::Error bad_file(const char* what, const std::string& path, const std::string& why) {
  return core::make_error(core::ErrorCode::invalid_argument,
                          std::string("etcd TLS ") + what + " '" + path + "': " + why);
}

/// A file OpenSSL cannot use gives a cryptic message; saying first
/// whether it can be opened at all is the common case.
bool readable(const std::string& path) {
  std::ifstream in(path);
  return in.good();
}

core::Result<std::shared_ptr<ssl::context>> make_tls(const EtcdOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    // No CA given: the system's trust store, as curl does.
    context->set_default_verify_paths(ec);
    if (ec) return bad_file("CA", "(system default)", ec.message());
  } else {
    if (!readable(options.ca_file)) return bad_file("CA", options.ca_file, "cannot be read");
    context->load_verify_file(options.ca_file, ec);
    if (ec) return bad_file("CA", options.ca_file, ec.message());
  }
  context->set_verify_mode(ssl::verify_peer);
  if (options.cert_file.empty() != options.key_file.empty()) {
    return core::make_error(core::ErrorCode::invalid_argument,
                            "etcd TLS: a client certificate needs both cert and key");
  }
  if (!options.cert_file.empty()) {
    if (!readable(options.cert_file)) {
      return bad_file("certificate", options.cert_file, "cannot be read");
    }
    context->use_certificate_chain_file(options.cert_file, ec);
    if (ec) return bad_file("certificate", options.cert_file, ec.message());
    if (!readable(options.key_file)) return bad_file("key", options.key_file, "cannot be read");
    context->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return bad_file("key", options.key_file, ec.message());
  }
  return context;
}

}  // namespace

core::Result<std::shared_ptr<const EtcdSettings>> make_settings(const EtcdOptions& options) {
  auto settings = std::make_shared<EtcdSettings>();
  if (options.endpoints.empty()) {
    return core::make_error(core::ErrorCode::invalid_argument, "etcd: no endpoint given");
  }
  bool any_tls = false;
  for (const auto& url : options.endpoints) {
    auto endpoint = parse_endpoint(url);
    if (!endpoint) return endpoint.error();
    any_tls = any_tls || endpoint->tls;
    settings->endpoints.push_back(std::move(*endpoint));
  }
  if (any_tls) {
    auto tls = make_tls(options);
    if (!tls) return tls.error();
    settings->tls = std::move(*tls);
  }
  settings->request_timeout = options.request_timeout;
  settings->connect_timeout = options.connect_timeout;
  return std::shared_ptr<const EtcdSettings>(std::move(settings));
}

}  // namespace meshd::cluster
