#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "meshd/api/static_files.hpp"

namespace meshd::api {
namespace {

Response get(const Router& router, const std::string& path, const std::string& if_none_match = "") {
  Request r;
  r.method = "GET";
  r.path = path;
  if (!if_none_match.empty()) r.headers["if-none-match"] = if_none_match;
  Response out;
  router.dispatch(r, [&](Response res) { out = std::move(res); });
  return out;
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

Router dashboard_router() {
  ::unsetenv("MESHD_DASHBOARD_DIR");
  Router router;
  register_dashboard_routes(router);
  return router;
}

TEST(StaticFiles, EmbedsTheDashboardSortedWithTypesAndEtags) {
  auto files = static_files();
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                             [](const auto& a, const auto& b) { return a.path < b.path; }));
  const auto* index = find_static_file("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<!doctype html>"), std::string_view::npos);
  const auto* app = find_static_file("js/app.js");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->content_type, "text/javascript; charset=utf-8");
  EXPECT_TRUE(app->etag.starts_with("\"") && app->etag.ends_with("\"") && app->etag.size() > 10);
  EXPECT_NE(index->etag, app->etag);
  EXPECT_EQ(find_static_file("js/missing.js"), nullptr);
  EXPECT_EQ(find_static_file(""), nullptr);
  for (const auto& f : files) {
    EXPECT_FALSE(f.path.starts_with("tests/")) << f.path;
    EXPECT_EQ(f.path.find("node_modules"), std::string_view::npos) << f.path;
  }
}

TEST(StaticRoutes, ServesIndexAtRootAndFilesUnderUi) {
  auto router = dashboard_router();
  auto index = get(router, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, find_static_file("index.html")->body);
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(header(index, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);

  auto css = get(router, "/ui/css/dashboard.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(header(css, "ETag"), find_static_file("css/dashboard.css")->etag);

  EXPECT_EQ(get(router, "/ui/nope.js").status, 404);
  EXPECT_EQ(get(router, "/ui/../index.html").status, 404);
}

TEST(StaticRoutes, AnswersNotModifiedWhenTheEtagMatches) {
  auto router = dashboard_router();
  std::string etag(find_static_file("js/app.js")->etag);
  auto same = get(router, "/ui/js/app.js", etag);
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(header(same, "ETag"), etag);
  EXPECT_EQ(get(router, "/ui/js/app.js", "\"other\", W/" + etag).status, 304);
  EXPECT_EQ(get(router, "/ui/js/app.js", "*").status, 304);
  EXPECT_EQ(get(router, "/ui/js/app.js", "\"stale\"").status, 200);
}

}  // namespace
}  // namespace meshd::api
