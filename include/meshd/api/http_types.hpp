#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshd/core/error.hpp"

namespace meshd::api {

/// A parsed HTTP request, free of Beast types so that handlers compile
/// fast and test without sockets.
struct Request {
  std::string method;                          // "GET"
  std::string target;                          // "/api/v1/services?x=1"
  std::string path;                            // "/api/v1/services", percent-decoded
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Completes a request; may be called later (blocking queries), once, on
/// the control loop.
using Respond = std::function<void(Response)>;

/// Path parameters, e.g. {"name": "hyperrag"} for /services/{name}.
using Params = std::map<std::string, std::string>;

Response json_response(int status, const nlohmann::json& body);
/// {"error": {"code": ..., "message": ...}} with the status for `code`.
Response error_response(const core::Error& error);
Response error_response(core::ErrorCode code, std::string message);
int http_status(core::ErrorCode code);

/// Splits "a=1&b=two%20words" into a map; returns false on bad escapes.
bool parse_query(const std::string& query, std::map<std::string, std::string>& out);
/// Parses a whole decimal integer in [low, high]; nullopt otherwise.
std::optional<long long> parse_int(const std::string& text, long long low, long long high);

/// Decodes %XX escapes; returns false on a malformed one.
bool percent_decode(const std::string& in, std::string& out, bool plus_is_space);

}  // namespace meshd::api
