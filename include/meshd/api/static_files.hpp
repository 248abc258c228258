#pragma once

#include <span>
#include <string_view>

#include "meshd/api/router.hpp"

namespace meshd::api {

/// One file of the web dashboard, embedded in the binary at build time
/// (cmake/EmbedDashboard.cmake), so that a single file deploys.
struct StaticFile {
  std::string_view path;          // relative to dashboard/, e.g. "js/app.js"
  std::string_view content_type;  // from the extension
  std::string_view body;
  std::string_view etag;  // quoted hash of the content, e.g. "\"3f2a…\""
};

/// Every embedded file, sorted by path (generated source, meshd_dashboard).
std::span<const StaticFile> static_files();

/// The embedded file at `path` ("index.html", "js/app.js"), or null.
const StaticFile* find_static_file(std::string_view path);

/// Serves the dashboard: GET / is index.html, GET /ui/<path> each embedded
/// file, with an ETag and `Cache-Control: no-cache` (revalidate, 304 when
/// unchanged). With MESHD_DASHBOARD_DIR set, files are read from that
/// directory instead, for working on the dashboard without rebuilding.
void register_dashboard_routes(Router& router);

}  // namespace meshd::api
