#pragma once

#include <array>
#include <string_view>
#include <utility>

namespace meshd::api {

/// The media type of a file served by meshd, from its extension (ASCII case
/// ignored): the one table, used for the dashboard files embedded at build
/// time (the source cmake/EmbedDashboard.cmake generates calls it) and for
/// those read from MESHD_DASHBOARD_DIR. Text types say charset=utf-8;
/// anything unknown is application/octet-stream.
constexpr std::string_view content_type_for(std::string_view path) {
  constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  }};
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (const auto& [extension, type] : kTypes) {
    if (path.size() < extension.size()) continue;
    auto tail = path.substr(path.size() - extension.size());
    bool same = true;
    for (std::size_t i = 0; i < tail.size() && same; ++i) same = lower(tail[i]) == extension[i];
    if (same) return type;
  }
  return "application/octet-stream";
}

}  // namespace meshd::api
