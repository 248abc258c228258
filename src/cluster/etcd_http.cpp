#include "etcd_http.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster {
namespace {

namespace http = boost::beast::http;

/// gRPC status codes that the gateway passes on in "code".
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcUnavailable = 14;

core::Error etcd_error(const Endpoint& endpoint, const nlohmann::json& error) {
  std::string message;
  int code = -1;
  if (error.is_object()) {
    const auto text = error.find("message");
    if (text != error.end() && text->is_string()) message = text->get<std::string>();
    const auto other = error.find("error");
    if (message.empty() && other != error.end() && other->is_string()) {
      message = other->get<std::string>();
    }
    const auto number = error.find("code");
    if (number != error.end() && number->is_number_integer()) code = number->get<int>();
  }
  if (message.empty()) message = "an error without a message";
  const std::string line = "etcd " + endpoint.url + ": " + message;
  if (code == kGrpcUnavailable) return core::make_error(core::ErrorCode::unavailable, line);
  if (code == kGrpcDeadlineExceeded) {
    return core::make_error(core::ErrorCode::upstream_timeout, line);
  }
  return core::make_error(core::ErrorCode::upstream_failure, line);
}

}  // namespace

EtcdRequest make_request(const Endpoint& endpoint, const std::string& path, std::string body,
                         bool keep_alive) {
  EtcdRequest request{http::verb::post, path, 11};
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  request.set(http::field::host,
              (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + endpoint.port);
  request.set(http::field::user_agent, "meshd");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, "application/json");
  request.keep_alive(keep_alive);
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

core::Result<nlohmann::json> decode_answer(const Endpoint& endpoint, unsigned status,
                                           const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (status != 200) {
    if (json.is_object() && (json.contains("message") || json.contains("error"))) {
      return etcd_error(endpoint, json);
    }
    return core::make_error(core::ErrorCode::upstream_failure,
                            "etcd " + endpoint.url + " answered HTTP " + std::to_string(status));
  }
  if (json.is_discarded() || !json.is_object()) {
    return core::make_error(core::ErrorCode::invalid_argument,
                            "etcd " + endpoint.url + " answered something that is not JSON");
  }
  // A streamed answer (lease keep-alive) carries an error in place of its result.
  const auto error = json.find("error");
  if (error != json.end() && error->is_object()) return etcd_error(endpoint, *error);
  return json;
}

core::Error transport_error(const Endpoint& endpoint, const char* stage,
                            boost::system::error_code ec) {
  const std::string where = "etcd " + endpoint.url + ": " + stage + ": ";
  if (ec == boost::beast::error::timeout) {
    return core::make_error(core::ErrorCode::upstream_timeout, where + "no answer in time");
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return core::make_error(core::ErrorCode::invalid_argument,
                            where + "not an HTTP answer (" + ec.message() + ")");
  }
  return core::make_error(core::ErrorCode::unavailable, where + ec.message());
}

bool is_member_failure(const core::Error& error) {
  return error.code == core::ErrorCode::unavailable ||
         error.code == core::ErrorCode::upstream_timeout ||
         error.code == core::ErrorCode::invalid_argument;
}

}  // namespace meshd::cluster

namespace meshd::cluster {

bool is_lease_not_found(const core::Error& error) {
  return error.code == core::ErrorCode::upstream_failure &&
         error.message.find("requested lease not found") != std::string::npos;
}

}  // namespace meshd::cluster
