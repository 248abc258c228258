#include "meshd/api/routes.hpp"

namespace meshd::api {
namespace {

// Compares without an early exit, so the time taken does not reveal how
// much of a guess was right.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace

Router::Handler require_token(const ApiContext& context, bool mutating, Router::Handler handler) {
  return [&context, mutating, handler = std::move(handler)](const Request& req,
                                                            const Params& params, Respond respond) {
    const auto& mesh = context.config->mesh;
    if (!mesh.api_token.empty() && (mutating || mesh.auth_reads)) {
      std::string header = req.header("authorization");
      const std::string prefix = "Bearer ";
      if (header.rfind(prefix, 0) != 0) {
        auto r = error_response(core::ErrorCode::unauthorized,
                                "this call needs 'Authorization: Bearer <token>'");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return respond(std::move(r));
      }
      if (!constant_time_equal(header.substr(prefix.size()), mesh.api_token)) {
        auto r = error_response(core::ErrorCode::unauthorized, "wrong API token");
        r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return respond(std::move(r));
      }
    }
    handler(req, params, std::move(respond));
  };
}

}  // namespace meshd::api
