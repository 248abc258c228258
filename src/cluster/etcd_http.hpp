#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

// What the client sends to and makes of the JSON gateway, over HTTP.

#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "etcd_connection.hpp"
#include "etcd_endpoint.hpp"
#include "meshd/core/error.hpp"

namespace meshd::cluster {

/// POST `path` with a JSON `body`.
EtcdRequest make_request(const Endpoint& endpoint, const std::string& path, std::string body,
                         bool keep_alive);

/// An answer's HTTP status and body as a JSON object, or the error it
/// carries: etcd's own errors ({"error","message","code"}) are
/// upstream_failure with etcd's message, except gRPC's UNAVAILABLE and
/// DEADLINE_EXCEEDED (a member without a leader or quorum), which are
/// unavailable and upstream_timeout so that the next request tries
/// another member; anything else unexpected is invalid_argument.
core::Result<nlohmann::json> decode_answer(const Endpoint& endpoint, unsigned status,
                                           const std::string& body);

/// A failure below HTTP: upstream_timeout for a deadline, invalid_argument
/// for an answer that is not HTTP, unavailable otherwise.
core::Error transport_error(const Endpoint& endpoint, const char* stage,
                            boost::system::error_code ec);

/// Whether a request that met `error` should move on to the next member.
bool is_member_failure(const core::Error& error);

}  // namespace meshd::cluster
