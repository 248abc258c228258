#include "meshd/api/router.hpp"

#include <set>

namespace meshd::api {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    auto slash = path.find('/', pos);
    out.push_back(path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back(Route{method, pattern, split_path(pattern), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string>& path, Params& params) {
  if (route.segments.size() != path.size()) return false;
  Params found;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      if (path[i].empty()) return false;
      found[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

void Router::dispatch(const Request& request, Respond respond) const {
  auto path = split_path(request.path);
  std::set<std::string> allowed;
  for (const auto& route : routes_) {
    Params params;
    if (!match(route, path, params)) continue;
    bool same =
        route.method == request.method || (request.method == "HEAD" && route.method == "GET");
    if (same) {
      route.handler(request, params, std::move(respond));
      return;
    }
    allowed.insert(route.method);
  }
  if (!allowed.empty()) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    auto response = error_response(
        core::ErrorCode::method_not_allowed,
        request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
    respond(std::move(response));
    return;
  }
  respond(error_response(core::ErrorCode::not_found, "no route for " + request.path));
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

}  // namespace meshd::api
