#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "meshd/api/content_types.hpp"
#include "meshd/api/static_files.hpp"

namespace meshd::api {
namespace {

namespace fs = std::filesystem;

// The dashboard's own policy: scripts, styles and connections only from
// meshd itself, so nothing on the page can reach another host.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// True when an If-None-Match header names `etag` (a list, weak or not) or "*".
bool etag_matches(const std::string& header, std::string_view etag) {
  if (header.empty()) return false;
  std::stringstream in(header);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first == std::string::npos) continue;
    std::string_view tag(item.data() + first, last - first + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

Response file_response(const Request& req, std::string_view content_type, std::string_view body,
                       std::string_view etag) {
  Response r;
  r.content_type = std::string(content_type);
  r.headers.emplace_back("ETag", std::string(etag));
  // Paths carry no content hash, so browsers must revalidate: a 304 costs
  // one round trip on loopback and an upgraded meshd is never half-stale.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (content_type.starts_with("text/html")) {
    r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  if (etag_matches(req.header("if-none-match"), etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.body = std::string(body);
  return r;
}

// MESHD_DASHBOARD_DIR: a developer's working copy of dashboard/.
std::optional<fs::path> override_dir() {
  const char* dir = std::getenv("MESHD_DASHBOARD_DIR");
  if (!dir || !*dir) return std::nullopt;
  return fs::path(dir);
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Router::Handler serve(std::string path, std::optional<fs::path> dir) {
  return [path = std::move(path), dir = std::move(dir)](const Request& req, const Params&,
                                                        Respond respond) {
    if (dir) {
      if (auto text = read_file(*dir / path)) {
        std::string etag = "\"dev-" + std::to_string(std::hash<std::string>{}(*text)) + "\"";
        return respond(file_response(req, content_type_for(path), *text, etag));
      }
    }
    const StaticFile* file = find_static_file(path);
    if (!file)
      return respond(error_response(core::ErrorCode::not_found, "no dashboard file " + path));
    respond(file_response(req, file->content_type, file->body, file->etag));
  };
}

}  // namespace

const StaticFile* find_static_file(std::string_view path) {
  auto files = static_files();
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const StaticFile& f, std::string_view p) { return f.path < p; });
  return it != files.end() && it->path == path ? &*it : nullptr;
}

void register_dashboard_routes(Router& router) {
  auto dir = override_dir();
  std::set<std::string> paths;
  for (const auto& f : static_files()) paths.emplace(f.path);
  if (dir) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(*dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file()) {
        auto rel = it->path().lexically_relative(*dir).generic_string();
        if (rel.front() != '.' && rel.find("/.") == std::string::npos) paths.insert(rel);
      }
  }
  if (paths.count("index.html")) {
    router.add("GET", "/", serve("index.html", dir));
    router.add("GET", "/ui", serve("index.html", dir));
  }
  for (const auto& p : paths) router.add("GET", "/ui/" + p, serve(p, dir));
}

}  // namespace meshd::api
