#pragma once

#include <string>
#include <vector>

#include "meshd/api/http_types.hpp"

namespace meshd::api {

/// Maps method + path pattern to a handler. Patterns are literal segments
/// and `{name}` parameters: "/api/v1/services/{name}/logs". A path that
/// matches some pattern but not the method gets 405 with `Allow`; one that
/// matches nothing gets 404, both with the JSON error shape.
class Router {
 public:
  using Handler = std::function<void(const Request&, const Params&, Respond)>;

  void add(const std::string& method, const std::string& pattern, Handler handler);
  void dispatch(const Request& request, Respond respond) const;

  /// Every (method, pattern), for documentation and tests.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string>& path, Params& params);

  std::vector<Route> routes_;
};

}  // namespace meshd::api
