// One table of media types, for the embedded dashboard and for files
// served from MESHD_DASHBOARD_DIR alike.

#include "meshd/api/content_types.hpp"

#include <gtest/gtest.h>

#include "meshd/api/static_files.hpp"

namespace meshd::api {
namespace {

TEST(ContentTypes, ByExtensionIgnoringCaseWithUtf8ForText) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("js/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("js/mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("css/site.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("img/logo.PNG"), "image/png");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("site.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_for("app.js.map"), "application/octet-stream");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
  EXPECT_EQ(content_type_for("js"), "application/octet-stream");
}

TEST(ContentTypes, TheEmbeddedFilesUseTheTable) {
  for (const auto& f : static_files())
    EXPECT_EQ(f.content_type, content_type_for(f.path)) << f.path;
}

}  // namespace
}  // namespace meshd::api
